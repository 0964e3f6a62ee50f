import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

const DOC = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** The parts of a zod definition that can hold config keys. */
interface Def {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  options?: z.core.$ZodType[];
}

/** Definitions that hold no keys: values, and the functions that read them. */
const LEAVES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'transform']);

/**
 * Every key path of the config, as the doc writes it: `rules[].pod.env`, `notifiers.<name>.url`.
 * A definition it does not know fails the test, so a new kind of schema cannot hide its keys.
 */
function keyPaths(schema: z.core.$ZodType, path = '', out = new Set<string>()): Set<string> {
  const def = schema._zod.def as unknown as Def;
  const walk = (inner: z.core.$ZodType | undefined, at: string): void => void (inner && keyPaths(inner, at, out));
  switch (def.type) {
    case 'object':
      for (const [key, value] of Object.entries(def.shape ?? {})) {
        const at = path ? `${path}.${key}` : key;
        out.add(at);
        walk(value, at);
      }
      break;
    case 'optional':
    case 'default':
    case 'prefault':
      walk(def.innerType, path);
      break;
    case 'pipe':
      walk(def.in, path);
      walk(def.out, path);
      break;
    case 'array':
      walk(def.element, `${path}[]`);
      break;
    case 'record':
      walk(def.valueType, `${path}.<name>`);
      break;
    case 'union':
      for (const option of def.options ?? []) walk(option, path);
      break;
    default:
      if (!LEAVES.has(def.type)) throw new Error(`${path}: a zod "${def.type}" the doc test cannot walk yet; teach keyPaths about it`);
  }
  return out;
}

/** The first cell of each table row in the doc, when it is one `code` span. */
function documentedKeys(): string[] {
  return [...DOC.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] ?? '');
}

describe('docs/configuration.md', () => {
  const paths = keyPaths(configSchema);

  it('finds the keys of every section', () => {
    for (const path of ['poll.schedule', 'http.allowedHosts', 'notifiers.<name>.secret', 'rules[].candidates[].bid', 'rules[].pod.env', 'budget.maxHourlySpend']) {
      expect(paths).toContain(path);
    }
  });

  it('has a row for every key of the schema', () => {
    const rows = new Set(documentedKeys());
    expect([...paths].filter((path) => !rows.has(path))).toEqual([]);
  });

  it('documents no key the schema does not have', () => {
    const sections = new Set([...paths].filter((path) => !/[.[]/.test(path)));
    const keyRows = documentedKeys().filter((key) => sections.has(key.split(/[.[]/)[0] ?? ''));
    expect(keyRows.filter((key) => !paths.has(key))).toEqual([]);
  });
});
