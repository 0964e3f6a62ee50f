import { DATA_CENTERS, stockIn } from './data-centers.js';
import { MEMORY_GB_PER_GPU, VCPUS_PER_GPU, type SimCloud } from './pod.js';
import type { SimGpu, SimOffer } from './scenario.js';

// The machine filters of RunPod's `lowestPrice` and deploy inputs, as the simulator applies them to
// its offers: each filter gives a stock word, and an offer's stock under several is the worst.

/** The filters of a `lowestPrice` or deploy input, under GraphQL's names. */
export interface SimFilters {
  cudaVersions?: string[];
  dataCenterId?: string;
  countryCode?: string;
  minVcpuCount?: number;
  minMemoryInGb?: number;
  supportPublicIp?: boolean;
  minDisk?: number;
}

type Input = Record<string, unknown> | null | undefined;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/**
 * The filters an input asks for. A `networkVolumeId` (a deploy's) puts the pod in its volume's data
 * center, as RunPod does; `volumeDataCenter` says where each volume is.
 */
export function filtersOf(input: Input, volumeDataCenter: (id: string) => string | undefined = () => undefined): SimFilters {
  const filters: SimFilters = {};
  const cuda = Array.isArray(input?.allowedCudaVersions) ? input.allowedCudaVersions.filter((v): v is string => typeof v === 'string') : [];
  if (cuda.length > 0) filters.cudaVersions = cuda;
  const volume = text(input?.networkVolumeId);
  const dataCenterId = text(input?.dataCenterId) ?? (volume !== undefined ? volumeDataCenter(volume) : undefined);
  if (dataCenterId !== undefined) filters.dataCenterId = dataCenterId;
  const country = text(input?.countryCode);
  if (country !== undefined) filters.countryCode = country;
  for (const name of ['minVcpuCount', 'minMemoryInGb', 'minDisk'] as const) {
    const value = number(input?.[name]);
    if (value !== undefined) filters[name] = value;
  }
  if (input?.supportPublicIp === true) filters.supportPublicIp = true;
  return filters;
}

const LADDER = ['none', 'low', 'medium', 'high'];
/** A stock word's place on the ladder; null, "none" and words off it count as none. */
const rank = (word: string | null | undefined): number => Math.max(0, LADDER.indexOf((word ?? '').trim().toLowerCase()));
const worst = (words: readonly (string | null)[]): string | null => words.reduce((a, b) => (rank(b) < rank(a) ? b : a));
const best = (words: readonly (string | null)[]): string | null => (words.length === 0 ? 'None' : words.reduce((a, b) => (rank(b) > rank(a) ? b : a)));

/** The stock of an offer's machines running one of `versions`: each version's own word, or the offer's while it is available. */
function cudaStock(offer: SimOffer, versions: readonly string[]): string | null {
  const known = offer.cudaVersions ?? ['12.4', '12.8'].map((version) => ({ version, available: true, stock: undefined }));
  const words = known.filter((c) => versions.includes(c.version)).map((c) => (c.stock !== undefined ? c.stock : c.available ? offer.stock : 'None'));
  return best(words);
}

/** The stock of an offer's machines in one country: the best of its data centers there. */
function countryStock(gpu: SimGpu, cloud: SimCloud, offer: SimOffer, countryCode: string): string | null {
  const inCountry = DATA_CENTERS.filter((dc) => dc.countryCode === countryCode).map((dc) => dc.id);
  if (cloud === 'COMMUNITY' && !offer.dataCenters) return offer.stock;
  return best(inCountry.flatMap((id) => stockIn(gpu, offer, id) ?? []));
}

/** Whether the offer's machines have what the machine filters ask for, for a pod of `gpuCount` GPUs. */
function machineFits(cloud: SimCloud, offer: SimOffer, filters: SimFilters, gpuCount: number): boolean {
  const machine = offer.machine ?? {};
  if ((filters.minVcpuCount ?? 0) > (machine.vcpuPerGpu ?? VCPUS_PER_GPU) * gpuCount) return false;
  if ((filters.minMemoryInGb ?? 0) > (machine.memoryPerGpuInGb ?? MEMORY_GB_PER_GPU) * gpuCount) return false;
  if ((filters.minDisk ?? 0) > (machine.diskInGb ?? 500)) return false;
  return !filters.supportPublicIp || (machine.publicIp ?? cloud === 'SECURE');
}

/**
 * An offer's stock word on the machines passing `filters`, or undefined where it is not offered at
 * all (a data center it is not in; Community Cloud has no data centers to name). Without filters it
 * is the offer's own word.
 */
export function filteredStock(gpu: SimGpu, cloud: SimCloud, offer: SimOffer, filters: SimFilters, gpuCount: number): string | null | undefined {
  const words: (string | null)[] = [offer.stock];
  if (filters.dataCenterId !== undefined) {
    const inDc = cloud === 'SECURE' ? stockIn(gpu, offer, filters.dataCenterId) : undefined;
    if (inDc === undefined) return undefined;
    words.push(inDc);
  }
  if (filters.countryCode !== undefined) words.push(countryStock(gpu, cloud, offer, filters.countryCode));
  if (filters.cudaVersions) words.push(cudaStock(offer, filters.cudaVersions));
  if (!machineFits(cloud, offer, filters, gpuCount)) words.push('None');
  return worst(words);
}
