import type { z } from 'zod';

/** The parts of a zod schema's definition this walk reads (zod 4's public `def`). */
interface Def {
  type: string;
  shape?: Record<string, { def: Def }>;
  innerType?: { def: Def };
  out?: { def: Def };
  element?: { def: Def };
  valueType?: { def: Def };
  options?: { def: Def }[];
  values?: unknown[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Strips defaults, optionals and preprocessing down to the schema that checks the value. */
function unwrap(def: Def, raw: unknown): Def {
  if (def.innerType && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch'].includes(def.type)) return unwrap(def.innerType.def, raw);
  if (def.type === 'pipe' && def.out) return unwrap(def.out.def, raw);
  // A union of objects told apart by `type` (the notifiers): the one this value names.
  if (def.type === 'union' && def.options) {
    const type = isRecord(raw) ? raw.type : undefined;
    const match = def.options.find((o) => unwrap(o.def, undefined).shape?.type?.def.values?.includes(type));
    if (match) return unwrap(match.def, raw);
  }
  return def;
}

/**
 * The keys the config schema knows for the object at `path` in the raw config (the path of a zod
 * `unrecognized_keys` issue), so an unknown key can be matched to the one meant. Empty when the
 * path leads to no object the schema spells out.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], raw: unknown): string[] {
  let def = unwrap((schema as unknown as { def: Def }).def, raw);
  let value = raw;
  for (const part of path) {
    value = isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[part] : undefined;
    const next = def.shape?.[String(part)] ?? def.element ?? def.valueType;
    if (!next) return [];
    def = unwrap(next.def, value);
  }
  return Object.keys(def.shape ?? {});
}
