import { z } from 'zod';
import { describeIssue, lowestPriceInput, lowestPriceSchema, lowestPriceSelection } from './offer-schema.js';
import { sanitise } from '../../lib/sanitise.js';
import { RunpodError } from '../errors.js';
import { classifyGraphqlErrors, type GraphqlErrorEntry } from './errors.js';
import { keyId, type GpuOffer, type Snapshot, type WatchKey } from '../types.js';

/** A GraphQL document with its variables. */
export interface GraphqlRequest {
  document: string;
  variables: Record<string, unknown>;
  /** Values sent that must never come back in an error text (pod env values). */
  secrets?: readonly string[];
}

/** Each distinct key's alias (`k0`, `k1`, ...), by key id: keys with equal ids (and so equal filters) share one. */
function aliases(keys: readonly WatchKey[]): Map<string, string> {
  const byId = new Map<string, string>();
  for (const key of keys) if (!byId.has(keyId(key))) byId.set(keyId(key), `k${byId.size}`);
  return byId;
}

/**
 * Builds one query for all keys: one aliased `gpuTypes(input: {id})` per distinct key, each with
 * its own `lowestPrice` input (the key's count, cloud and machine filters), so the whole market
 * comes back in a single HTTP request. Values travel as variables, never spliced into the text.
 * `beside` is one more root field asked in the same document (the account's pod list), answered
 * under its own name.
 */
export function buildSnapshotQuery(keys: readonly WatchKey[], spot: boolean, beside?: string): GraphqlRequest {
  const declarations: string[] = [];
  const fields: string[] = [];
  const variables: Record<string, unknown> = {};
  const selection = lowestPriceSelection(spot, true);
  const named = aliases(keys);
  for (const key of keys) {
    const a = named.get(keyId(key)) as string;
    if (variables[`${a}g`] !== undefined) continue;
    declarations.push(`$${a}g: GpuTypeFilter`, `$${a}p: GpuLowestPriceInput`);
    fields.push(`${a}: gpuTypes(input: $${a}g) { id displayName lowestPrice(input: $${a}p) { ${selection} } }`);
    variables[`${a}g`] = { id: key.gpuTypeId };
    variables[`${a}p`] = lowestPriceInput(key.gpuCount, key.cloud, key.filters);
  }
  if (beside !== undefined) fields.push(beside);
  return { document: `query Snapshot(${declarations.join(', ')}) {\n  ${fields.join('\n  ')}\n}`, variables };
}

const gpuTypeSchema = z.object({ id: z.string().nullish(), displayName: z.string().nullish(), lowestPrice: lowestPriceSchema });
const aliasAnswerSchema = z.array(z.unknown()).nullable();

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
 * The error for an answer in which no key got usable data, so that such a poll fails instead of
 * passing as a partial one. When RunPod named an error on every key, those errors say what kind of
 * failure it is (an auth refusal stays one); when it named no such GPU for any key, the request is
 * wrong; anything else (`{"data":null}`, `{"data":{}}`, keys missing or garbled, a mix of reasons)
 * is transient, tried again next cycle like a 5xx.
 */
function noUsableKey(snapshot: Snapshot, errors: readonly GraphqlErrorEntry[], secrets: readonly string[]): RunpodError {
  const reasons = new Set(snapshot.dropped.map((d) => d.reason));
  const detail = sanitise([...new Set(snapshot.dropped.map((d) => d.detail))].join(' | '), secrets);
  const base = { operation: 'snapshot', status: 200, mayHaveReachedRunpod: true };
  if (reasons.size === 1 && reasons.has('error')) {
    const classified = classifyGraphqlErrors('snapshot', errors, 200, secrets);
    return new RunpodError({ ...base, kind: classified.kind, ...(classified.code ? { code: classified.code } : {}), message: `every key failed: ${detail}` });
  }
  if (reasons.size === 1 && reasons.has('unknown_gpu')) return new RunpodError({ ...base, kind: 'invalid_request', message: `every key failed: ${detail}` });
  if (reasons.size === 1) return new RunpodError({ ...base, kind: 'transient', message: `malformed answer: no watched key got usable data (${detail})` });
  return new RunpodError({ ...base, kind: 'transient', message: `every key failed: ${detail}` });
}

/**
 * Turns the answer into offers. Each key is judged alone: a key whose part of the answer is
 * missing, malformed, errored or names no such GPU is dropped with its reason, and the rest go on.
 * An answer with no usable key at all throws a RunpodError: that poll failed. RunPod's error
 * texts are cleaned of `secrets` (the key) before they are kept.
 */
export function parseSnapshot(
  keys: readonly WatchKey[],
  data: Record<string, unknown> | null | undefined,
  errors: readonly GraphqlErrorEntry[],
  spot: boolean,
  secrets: readonly string[] = [],
): Snapshot {
  const snapshot: Snapshot = { offers: [], dropped: [], spotFields: spot };
  const failed = errorAliases(errors);
  const named = aliases(keys);
  keys.forEach((key) => {
    const a = named.get(keyId(key)) as string;
    const failure = failed.get(a);
    if (failure !== undefined) {
      snapshot.dropped.push({ key, reason: 'error', detail: sanitise(failure, secrets) });
      return;
    }
    const answer = data?.[a];
    if (answer === undefined) {
      snapshot.dropped.push({ key, reason: 'malformed', detail: `the answer has no "${a}"` });
      return;
    }
    const list = aliasAnswerSchema.safeParse(answer);
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
  if (keys.length > 0 && snapshot.offers.length === 0) throw noUsableKey(snapshot, errors, secrets);
  return snapshot;
}
