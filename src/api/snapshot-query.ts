import { z } from 'zod';
import { describeIssue, lowestPriceInput, lowestPriceSchema, lowestPriceSelection } from './offer-schema.js';
import type { GraphqlErrorEntry } from './errors.js';
import type { GpuOffer, Snapshot, WatchKey } from './types.js';

/** A GraphQL document with its variables. */
export interface GraphqlRequest {
  document: string;
  variables: Record<string, unknown>;
  /** Values sent that must never come back in an error text (pod env values). */
  secrets?: readonly string[];
}

const alias = (index: number): string => `k${index}`;

/**
 * Builds one query for all keys: one aliased `gpuTypes(input: {id})` per key, each with its own
 * `lowestPrice` input, so the whole market comes back in a single HTTP request. Values travel as
 * variables, never spliced into the text.
 */
export function buildSnapshotQuery(keys: readonly WatchKey[], spot: boolean): GraphqlRequest {
  const declarations: string[] = [];
  const fields: string[] = [];
  const variables: Record<string, unknown> = {};
  const selection = lowestPriceSelection(spot);
  keys.forEach((key, index) => {
    const a = alias(index);
    declarations.push(`$${a}g: GpuTypeFilter`, `$${a}p: GpuLowestPriceInput`);
    fields.push(`${a}: gpuTypes(input: $${a}g) { id displayName lowestPrice(input: $${a}p) { ${selection} } }`);
    variables[`${a}g`] = { id: key.gpuTypeId };
    variables[`${a}p`] = lowestPriceInput(key.gpuCount, key.cloud);
  });
  return { document: `query Snapshot(${declarations.join(', ')}) {\n  ${fields.join('\n  ')}\n}`, variables };
}

const gpuTypeSchema = z.object({ id: z.string().nullish(), displayName: z.string().nullish(), lowestPrice: lowestPriceSchema });
const aliasAnswerSchema = z.array(z.unknown()).nullish();

function errorAliases(errors: readonly GraphqlErrorEntry[]): Map<string, string> {
  const byAlias = new Map<string, string>();
  for (const entry of errors) {
    const head = Array.isArray(entry.path) ? entry.path[0] : undefined;
    if (typeof head === 'string' && !byAlias.has(head)) {
      byAlias.set(head, typeof entry.message === 'string' ? entry.message : 'error');
    }
  }
  return byAlias;
}

/**
 * Turns the answer into offers. Each key is judged alone: a key whose part of the answer is
 * malformed, errored or names no such GPU is dropped with its reason, and the rest go on.
 */
export function parseSnapshot(
  keys: readonly WatchKey[],
  data: Record<string, unknown> | null | undefined,
  errors: readonly GraphqlErrorEntry[],
  spot: boolean,
): Snapshot {
  const snapshot: Snapshot = { offers: [], dropped: [], spotFields: spot };
  const failed = errorAliases(errors);
  keys.forEach((key, index) => {
    const a = alias(index);
    const failure = failed.get(a);
    if (failure !== undefined) {
      snapshot.dropped.push({ key, reason: 'error', detail: failure });
      return;
    }
    const list = aliasAnswerSchema.safeParse(data?.[a]);
    if (!list.success) {
      snapshot.dropped.push({ key, reason: 'malformed', detail: describeIssue(list.error) });
      return;
    }
    // RunPod may answer more types than asked for; only the one with our id counts.
    const raw = (list.data ?? []).find((entry) => (entry as { id?: unknown } | null)?.id === key.gpuTypeId);
    if (raw === undefined) {
      snapshot.dropped.push({ key, reason: 'unknown_gpu', detail: `RunPod has no GPU type "${key.gpuTypeId}"` });
      return;
    }
    const parsed = gpuTypeSchema.safeParse(raw);
    if (!parsed.success) {
      snapshot.dropped.push({ key, reason: 'malformed', detail: describeIssue(parsed.error) });
      return;
    }
    const offer: GpuOffer = { key, displayName: parsed.data.displayName ?? null, ...parsed.data.lowestPrice };
    if (!spot) offer.minBidPrice = null;
    snapshot.offers.push(offer);
  });
  return snapshot;
}
