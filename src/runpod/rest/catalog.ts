import { z } from 'zod';
import type { CatalogEntry, CatalogQuery, GpuOffer, StockLevel, WatchFilters, WatchKey } from '../types.js';

// REST v2's GPU catalog (`GET /v2/catalog/gpus?include=AVAILABILITY&product=POD&count=N&cloud=C`),
// read into offers. One answer covers every GPU type at one GPU count on one cloud.

/** The clouds v2 prices one at a time: it has no ALL. */
export type SingleCloud = 'SECURE' | 'COMMUNITY';

/**
 * One catalog request: a GPU count on a cloud, with the filters v2's catalog takes itself (CUDA
 * versions and a country); a data center is read from the answer's per-data-center levels.
 */
export interface CatalogPair {
  gpuCount: number;
  cloud: SingleCloud;
  cudaVersions?: string[];
  countryCode?: string;
}

/**
 * The machine filters v2's catalog has no parameter for, each with what it asks for (for the
 * message). A key asking for one is not watched over v2 (its deploy would be refused there too).
 */
const FILTERS_NOT_IN_V2: Partial<Record<keyof WatchFilters, string>> = {
  minVcpuCount: 'vCPUs',
  minMemoryInGb: 'memory',
  supportPublicIp: 'a public IP',
  minDisk: 'disk',
};

/** The filters of `filters` v2 cannot apply, by what they ask for; empty when it can apply them all. */
export function unappliedFilters(filters: WatchFilters | undefined): string[] {
  return Object.keys(filters ?? {}).flatMap((name) => FILTERS_NOT_IN_V2[name as keyof WatchFilters] ?? []);
}

/** The catalog requests one key (or `catalog` query) needs: one per cloud, ALL needing both. */
function keyPairs(key: Pick<WatchKey, 'gpuCount' | 'cloud' | 'filters'>): CatalogPair[] {
  const clouds: SingleCloud[] = key.cloud === 'ALL' ? ['SECURE', 'COMMUNITY'] : [key.cloud];
  const { cudaVersions, countryCode } = key.filters ?? {};
  return clouds.map((cloud) => ({ gpuCount: key.gpuCount, cloud, ...(cudaVersions ? { cudaVersions } : {}), ...(countryCode ? { countryCode } : {}) }));
}

/** The distinct catalog requests a set of keys needs, in order of first use. */
export function pairsFor(keys: readonly Pick<WatchKey, 'gpuCount' | 'cloud' | 'filters'>[]): CatalogPair[] {
  const pairs = new Map<string, CatalogPair>();
  for (const key of keys) for (const pair of keyPairs(key)) pairs.set(pairId(pair), pair);
  return [...pairs.values()];
}

/** A pair's text form, for maps. */
export const pairId = (pair: CatalogPair): string => `${pair.gpuCount}|${pair.cloud}|${pair.cudaVersions?.join(',') ?? ''}|${pair.countryCode ?? ''}`;

const LEVELS: Record<string, StockLevel> = { NONE: 'None', LOW: 'Low', MEDIUM: 'Medium', HIGH: 'High' };

/** v2's `availability` (NONE, LOW, MEDIUM, HIGH); absent or a word we do not know is None, as with GraphQL. */
const stockOf = (raw: string | null | undefined): StockLevel => LEVELS[(raw ?? '').trim().toUpperCase()] ?? 'None';

const price = z.number().finite().nonnegative().nullish();
const level = z.string().nullish();

/** The fields of a v2 `GpuType` the watcher reads; extra fields are ignored, wrong types are malformed. */
const gpuSchema = z.object({
  id: z.string().min(1),
  name: z.string().nullish(),
  memory: z.number().int().nonnegative().nullish(),
  secure: z.boolean().nullish(),
  community: z.boolean().nullish(),
  price: z.object({ secure: price, community: price }).nullish(),
  availability: level,
  dataCenters: z.array(z.object({ id: z.string().min(1), name: z.string().nullish(), availability: level })).nullish(),
  cudaVersions: z.array(z.object({ version: z.string().min(1), available: z.boolean() })).nullish(),
});

type CatalogGpu = z.infer<typeof gpuSchema>;

/** One catalog answer: its GPU types by id (null: there, but malformed), and how many entries were malformed. */
export interface CatalogAnswer {
  gpus: Map<string, CatalogGpu | null>;
  malformed: number;
}

/** Reads the `gpus` list; undefined when the answer is not `{ gpus: [...] }` at all. */
export function readCatalog(body: unknown): CatalogAnswer | undefined {
  const list = typeof body === 'object' && body !== null ? (body as { gpus?: unknown }).gpus : undefined;
  if (!Array.isArray(list)) return undefined;
  const answer: CatalogAnswer = { gpus: new Map(), malformed: 0 };
  for (const raw of list) {
    const parsed = gpuSchema.safeParse(raw);
    const id = (raw as { id?: unknown } | null)?.id;
    if (!parsed.success) answer.malformed++;
    if (parsed.success) answer.gpus.set(parsed.data.id, parsed.data);
    else if (typeof id === 'string' && id !== '') answer.gpus.set(id, null);
  }
  return answer;
}

/**
 * What one cloud offers for a GPU type at the pair's count. Prices are per GPU per hour. With a
 * data center among the key's filters, the stock is that data center's level (None when the answer
 * does not list it), and only it is kept among the data centers.
 */
function cloudOffer(key: WatchKey, gpu: CatalogGpu, cloud: SingleCloud): GpuOffer {
  const offered = cloud === 'SECURE' ? gpu.secure : gpu.community;
  const listPrice = cloud === 'SECURE' ? gpu.price?.secure : gpu.price?.community;
  const wanted = key.filters?.dataCenterId;
  const dataCenters = (gpu.dataCenters ?? []).filter((dc) => wanted === undefined || dc.id === wanted);
  const level = wanted === undefined ? gpu.availability : (dataCenters[0]?.availability ?? null);
  return {
    key,
    displayName: gpu.name ?? null,
    stock: stockOf(level),
    stockRaw: level ?? null,
    // A GPU type not offered on this cloud, or priced at 0, has no price there (never a free GPU).
    onDemandPrice: offered === false || !listPrice ? null : listPrice,
    // v2 has no spot, and no list of deployable counts (`maxCount` is a ceiling, not stock).
    minBidPrice: null,
    availableGpuCounts: null,
    dataCenters: dataCenters.map((dc) => ({ id: dc.id, name: dc.name ?? null, stock: stockOf(dc.availability) })),
    cudaVersions: (gpu.cudaVersions ?? []).map((c) => ({ version: c.version, available: c.available })),
  };
}

/**
 * The offer for `key` from the answers of its cloud(s), or why there is none. For ALL, the two
 * clouds' offers merge as GraphQL's `lowestPrice` does across clouds: the cheapest cloud that has
 * stock (or, with stock on neither, the cheapest), with its stock, price and data centers, so the
 * offer is one a deploy can get; `cloud` says which it was. One cloud's answer is enough when the
 * other's request failed.
 */
export function offerFor(
  key: WatchKey,
  answers: ReadonlyMap<string, CatalogAnswer>,
): { offer: GpuOffer; cloud: SingleCloud } | { reason: 'unknown_gpu' | 'malformed' | 'error' } {
  const offers: { offer: GpuOffer; cloud: SingleCloud }[] = [];
  let failed = false;
  let malformed = false;
  for (const pair of keyPairs(key)) {
    const { cloud } = pair;
    const answer = answers.get(pairId(pair));
    const gpu = answer?.gpus.get(key.gpuTypeId);
    if (!answer) failed = true;
    else if (gpu === null) malformed = true;
    else if (gpu) offers.push({ offer: cloudOffer(key, gpu, cloud), cloud });
  }
  if (offers.length === 0) return { reason: failed ? 'error' : malformed ? 'malformed' : 'unknown_gpu' };
  const stocked = offers.filter((o) => o.offer.stock !== 'None');
  const pool = stocked.length > 0 ? stocked : offers;
  const cost = (o: { offer: GpuOffer }): number => o.offer.onDemandPrice ?? Infinity;
  return pool.reduce((best, o) => (cost(o) < cost(best) ? o : best));
}

/** Every GPU type in the answers as a catalog row (ALL merged and filters applied as in `offerFor`), sorted by id. */
export function catalogEntries({ gpuCount, cloud, filters }: CatalogQuery, answers: ReadonlyMap<string, CatalogAnswer>): CatalogEntry[] {
  const ids = new Set<string>();
  for (const answer of answers.values()) for (const [id, gpu] of answer.gpus) if (gpu) ids.add(id);
  const entries: CatalogEntry[] = [];
  for (const id of ids) {
    const found = offerFor({ gpuTypeId: id, gpuCount, cloud, ...(filters ? { filters } : {}) }, answers);
    if (!('offer' in found)) continue;
    const { offer } = found;
    const memory = [...answers.values()].map((a) => a.gpus.get(id)?.memory).find((m) => m !== undefined && m !== null);
    entries.push({
      gpuTypeId: id,
      displayName: offer.displayName,
      memoryInGb: memory ?? null,
      stock: offer.stock,
      stockRaw: offer.stockRaw,
      onDemandPrice: offer.onDemandPrice,
      minBidPrice: null,
      availableGpuCounts: null,
    });
  }
  return entries.sort((a, b) => a.gpuTypeId.localeCompare(b.gpuTypeId));
}
