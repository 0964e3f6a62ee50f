import YAML from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';

/** The largest config file read: a real one is a few kB, and the parser needs ~40x a quoted string's size. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The most values (scalars, lists, mappings) a config may hold once YAML aliases are followed. */
const MAX_VALUES = 100_000;
/** The longest single string, in the file or from `${VAR}`: a pod's env value, a URL, a token. */
const MAX_STRING_CHARS = 64 * 1024;

/** Refuses a config file larger than MAX_CONFIG_BYTES before anything parses it. */
export function checkConfigSize(bytes: number, source: string): void {
  if (bytes > MAX_CONFIG_BYTES) throw new ConfigError([{ path: source, message: 'is larger than 1 MiB, the most a config file may be: is it the right file?' }]);
}

/** Says what went wrong at a YAML error or an unresolved tag, without the parser's own position. */
function explain(problem: YAML.YAMLError): string {
  const first = (problem.message.split('\n')[0] ?? 'YAML error').replace(/ at line \d+, column \d+:?$/, '');
  if (problem.name === 'YAMLParseError') return `invalid YAML: ${first}`;
  const tag = /^Unresolved tag: (.+)$/.exec(first)?.[1]?.replace(/^tag:yaml\.org,2002:/, '!!');
  return tag ? `unknown YAML tag ${tag}: only plain YAML values (text, numbers, lists, mappings) are read` : `YAML tag: ${first}`;
}

/**
 * Parses config text into plain data. Tags other than YAML's own (`!!js/function`, `!foo`,
 * `!!binary`) are errors at their line. Aliases stay shared in the result (no copy per use), so
 * `limitIssue` must pass on it before anything walks it as a tree.
 */
export function parseYaml(text: string, source: string): unknown {
  checkConfigSize(Buffer.byteLength(text), source);
  const document = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, resolveKnownTags: false });
  // Only the first YAML error: the ones after it are usually the parser losing its place.
  const problems = document.errors.length > 0 ? document.errors.slice(0, 1) : document.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((problem) => {
        const at = problem.linePos?.[0];
        return { path: at ? `${source}:${at.line}:${at.col}` : source, message: explain(problem) };
      }),
    );
  }
  // No alias limit here: the result shares each anchored value, and limitIssue counts every use.
  return document.toJS({ maxAliasCount: -1 }) ?? {};
}

/**
 * The first place where `tree` goes beyond what a config needs: more than MAX_VALUES values once
 * aliases are followed (a "billion laughs" alias bomb), or a string longer than MAX_STRING_CHARS.
 * Counts each value as it is found, with its own stack, so a bomb costs no more than the limit.
 */
export function limitIssue(tree: unknown): ConfigIssue | undefined {
  const stack: { node: unknown; path: PropertyKey[] }[] = [{ node: tree, path: [] }];
  let values = 1;
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, path } = item;
    if (typeof node === 'string' && node.length > MAX_STRING_CHARS) {
      return { path: formatPath(path), message: `is ${node.length} characters long, above the ${MAX_STRING_CHARS} a value may be` };
    }
    if (node === null || typeof node !== 'object') continue;
    const entries: [PropertyKey, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    // Pushed last to first, so values are checked in the order the file gives them.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i] as [PropertyKey, unknown];
      if (++values > MAX_VALUES) {
        return { path: formatPath([...path, key]), message: `the config holds more than ${MAX_VALUES} values once YAML aliases (*name) are followed: an alias bomb?` };
      }
      stack.push({ node: value, path: [...path, key] });
    }
  }
  return undefined;
}
