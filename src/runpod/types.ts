import type { RunpodError } from './errors.js';
import type { SpotSupport } from './spot.js';

/** Which of RunPod's clouds an offer or deploy is on; ALL means "either". */
export type Cloud = 'SECURE' | 'COMMUNITY' | 'ALL';
export const CLOUDS = ['SECURE', 'COMMUNITY', 'ALL'] as const satisfies readonly Cloud[];

/** RunPod's stock levels, normalised: null, "", "none" (any case) and unknown words are None. */
export type StockLevel = 'None' | 'Low' | 'Medium' | 'High';
export const STOCK_LEVELS = ['None', 'Low', 'Medium', 'High'] as const satisfies readonly StockLevel[];

/** Orders stock levels: None 0, Low 1, Medium 2, High 3 (also the metrics gauge value). */
export function stockRank(level: StockLevel): number {
  return STOCK_LEVELS.indexOf(level);
}

/**
 * What a rule's pod asks of its machine, as RunPod's `lowestPrice` filters it: stock is then
 * counted only on machines that pass. Built by `normaliseFilters`, so equal filters are equal
 * objects (CUDA versions sorted, no empty fields) and give one `keyId`.
 */
export interface WatchFilters {
  /** Any of these CUDA versions (`allowedCudaVersions`). */
  cudaVersions?: string[];
  dataCenterId?: string;
  countryCode?: string;
  minVcpuCount?: number;
  minMemoryInGb?: number;
  /** Only true filters: false or absent asks nothing. */
  supportPublicIp?: true;
  minDisk?: number;
}

/** The filters' names in their canonical order, with each one's short form in a key id. */
const FILTER_IDS = [
  ['cudaVersions', 'cuda'],
  ['dataCenterId', 'dc'],
  ['countryCode', 'country'],
  ['minVcpuCount', 'vcpu'],
  ['minMemoryInGb', 'mem'],
  ['supportPublicIp', 'publicIp'],
  ['minDisk', 'disk'],
] as const satisfies readonly [keyof WatchFilters, string][];

/** Filters as a pod spec or a command line gives them, before `normaliseFilters`. */
export interface FilterInput {
  cudaVersions?: readonly string[] | undefined;
  dataCenterId?: string | undefined;
  countryCode?: string | undefined;
  minVcpuCount?: number | undefined;
  minMemoryInGb?: number | undefined;
  supportPublicIp?: boolean | undefined;
  minDisk?: number | undefined;
}

/** Filters in canonical form: empty fields and a false `supportPublicIp` left out; undefined when none is left. */
export function normaliseFilters(filters: FilterInput | undefined): WatchFilters | undefined {
  if (!filters) return undefined;
  const out: WatchFilters = {};
  const cuda = [...new Set(filters.cudaVersions ?? [])].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (cuda.length > 0) out.cudaVersions = cuda;
  if (filters.dataCenterId) out.dataCenterId = filters.dataCenterId;
  if (filters.countryCode) out.countryCode = filters.countryCode;
  if (filters.minVcpuCount) out.minVcpuCount = filters.minVcpuCount;
  if (filters.minMemoryInGb) out.minMemoryInGb = filters.minMemoryInGb;
  if (filters.supportPublicIp === true) out.supportPublicIp = true;
  if (filters.minDisk) out.minDisk = filters.minDisk;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The canonical text of filters (`cuda=12.4,12.8;dc=EU-RO-1`), '' for none: the filter part of a key id. */
export function filtersId(filters: WatchFilters | undefined): string {
  if (!filters) return '';
  const parts: string[] = [];
  for (const [name, short] of FILTER_IDS) {
    const value = filters[name];
    if (value === undefined) continue;
    parts.push(value === true ? short : `${short}=${Array.isArray(value) ? value.join(',') : value}`);
  }
  return parts.join(';');
}

/** One thing the watcher records: a GPU type at a GPU count on a cloud, on machines passing `filters`. */
export interface WatchKey {
  gpuTypeId: string;
  gpuCount: number;
  cloud: Cloud;
  /** Absent: every machine (the type's whole stock). */
  filters?: WatchFilters;
}

/**
 * A stable text form of a key, for maps and database rows: `NVIDIA RTX A6000|1|SECURE`, and for a
 * filtered key the canonical filters after one more bar (`...|SECURE|cuda=12.8;dc=EU-RO-1`). An
 * unfiltered key's id never changes, so its history goes on across versions.
 */
export function keyId(key: WatchKey): string {
  const base = `${key.gpuTypeId}|${key.gpuCount}|${key.cloud}`;
  const filters = filtersId(key.filters);
  return filters ? `${base}|${filters}` : base;
}

/** The filters as people read them, each after a middle dot (` · CUDA 12.8 · EU-RO-1`); '' for none. */
export function describeFilters(filters: WatchFilters | undefined): string {
  if (!filters) return '';
  const parts: string[] = [];
  if (filters.cudaVersions) parts.push(`CUDA ${filters.cudaVersions.join('/')}`);
  if (filters.dataCenterId) parts.push(filters.dataCenterId);
  if (filters.countryCode) parts.push(`country ${filters.countryCode}`);
  if (filters.minVcpuCount) parts.push(`≥${filters.minVcpuCount} vCPU`);
  if (filters.minMemoryInGb) parts.push(`≥${filters.minMemoryInGb} GB RAM`);
  if (filters.supportPublicIp) parts.push('public IP');
  if (filters.minDisk) parts.push(`≥${filters.minDisk} GB disk`);
  return parts.map((p) => ` · ${p}`).join('');
}

/** A key as people read it: `NVIDIA GeForce RTX 4090 ×1 SECURE · CUDA 12.8 · EU-RO-1`. */
export function keyLabel(key: WatchKey): string {
  return `${key.gpuTypeId} ×${key.gpuCount} ${key.cloud}${describeFilters(key.filters)}`;
}

/** What RunPod offers for one key at one moment. Prices are US dollars per GPU per hour. */
export interface GpuOffer {
  key: WatchKey;
  displayName: string | null;
  stock: StockLevel;
  /** RunPod's own word, kept for history when it is not one of the four levels. */
  stockRaw: string | null;
  onDemandPrice: number | null;
  minBidPrice: number | null;
  /** GPU counts deployable right now; null when RunPod did not say. */
  availableGpuCounts: number[] | null;
  /** Stock per data center, when the source gives it (REST v2). */
  dataCenters?: { id: string; name: string | null; stock: StockLevel }[];
  /** The CUDA versions machines with this GPU run, each with whether one has free capacity (REST v2). */
  cudaVersions?: { version: string; available: boolean }[];
  /** How much of the fleet behind the offer is rented, when RunPod says (GraphQL only; absent under REST v2). */
  fleet?: FleetFigures;
}

/**
 * RunPod's fleet figures for an offer (`lowestPrice`'s `rentedCount`, `totalCount`,
 * `rentalPercentage`), each null when RunPod did not give it. `rentalPercentage` is kept as RunPod
 * words it: its scale is not documented.
 */
export interface FleetFigures {
  rentedCount: number | null;
  totalCount: number | null;
  rentalPercentage: number | null;
}

/** Why a key is missing from a snapshot; `unsupported`: the API in use cannot filter stock as the key asks. */
export type DropReason = 'unknown_gpu' | 'malformed' | 'error' | 'unsupported';

/** The market for a set of keys, from one request. */
export interface Snapshot {
  offers: GpuOffer[];
  /** Keys with no usable answer, and why; never passed inward as offers. */
  dropped: { key: WatchKey; reason: DropReason; detail: string }[];
  /** False once RunPod refused the spot fields: `minBidPrice` is then null everywhere. */
  spotFields: boolean;
  /** The account's pods, read in the same request when the call asked for them (`withPods`). */
  pods?: PodsAnswer;
}

/** The pod list that rode along with a snapshot: the pods, or why that part alone failed. */
export type PodsAnswer = { pods: Pod[] } | { error: RunpodError };
/** What `catalog` lists: every GPU type at a GPU count on a cloud, on machines passing the filters. */
export interface CatalogQuery {
  gpuCount: number;
  cloud: Cloud;
  filters?: WatchFilters | undefined;
}

/** One row of the full catalog (`gpu-watcher gpus`). */
export interface CatalogEntry {
  gpuTypeId: string;
  displayName: string | null;
  memoryInGb: number | null;
  stock: StockLevel;
  stockRaw: string | null;
  onDemandPrice: number | null;
  minBidPrice: number | null;
  availableGpuCounts: number[] | null;
}

/**
 * A pod's state as RunPod words it: GraphQL's `desiredStatus` (CREATED ... TERMINATED), or REST v2's
 * `status`, whose PROVISIONING and STARTING are a pod being started (live, like CREATED) and whose
 * ERROR is a container that failed for good.
 */
type PodStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'EXITED' | 'PAUSED' | 'DEAD' | 'TERMINATED' | 'PROVISIONING' | 'STARTING' | 'ERROR';

/** The env variables that mark a pod as the watcher's: which rule deployed it, under which deploy id. */
export const RULE_ENV = 'GPU_WATCHER_RULE';
export const DEPLOY_ENV = 'GPU_WATCHER_DEPLOY';

/** A pod as the watcher sees it. Pod env is read only for the watcher's own markers, never kept. */
export interface Pod {
  id: string;
  name: string;
  desiredStatus: PodStatus;
  costPerHr: number;
  gpuCount: number;
  gpuTypeId: string | null;
  gpuDisplayName: string | null;
  imageName: string | null;
  /** The cloud its machine is on, when RunPod says. */
  cloud: 'SECURE' | 'COMMUNITY' | null;
  /** 'spot' when RunPod calls it INTERRUPTABLE or BID. */
  kind: 'on-demand' | 'spot';
  /** Set when the pod carries the watcher's env markers. */
  watcher: { rule: string; deployId: string } | null;
  /** When the pod last changed status (epoch ms), when RunPod says (GraphQL's `lastStatusChange`). */
  statusChangedAt?: number;
  /** The running container as RunPod reports it; null until the container is up (and while stopped). */
  runtime: PodRuntime | null;
}

/** A running pod's container: how long it has been up, its mapped ports and each GPU's utilisation. */
export interface PodRuntime {
  uptimeSeconds: number;
  ports: PodPort[];
  /** Per GPU, percent busy (0-100); empty when RunPod did not say. */
  gpuUtilPercent: number[];
}

/** One of a pod's exposed ports as mapped on its machine: `ip:publicPort` reaches `privatePort`. */
interface PodPort {
  ip: string | null;
  isIpPublic: boolean;
  privatePort: number;
  publicPort: number | null;
  /** `http` (behind RunPod's proxy) or `tcp`. */
  type: string;
}

/** The pod settings a rule passes to a deploy (the config's `rules[].pod`). */
export interface PodSpec {
  name?: string;
  imageName?: string;
  templateId?: string;
  dockerArgs?: string;
  containerDiskInGb?: number;
  volumeInGb?: number;
  volumeMountPath?: string;
  networkVolumeId?: string;
  ports?: string;
  env?: Record<string, string>;
  minVcpuCount?: number;
  minMemoryInGb?: number;
  allowedCudaVersions?: string[];
  dataCenterId?: string;
  countryCode?: string;
  minDisk?: number;
  startSsh?: boolean;
  supportPublicIp?: boolean;
}

/** A deploy request: the pod spec plus where and at what price. */
interface DeployRequest {
  spec: PodSpec;
  gpuTypeId: string;
  gpuCount: number;
  cloud: Cloud;
  /**
   * When RunPod itself should stop or terminate the pod (GraphQL's `stopAfter` / `terminateAfter`).
   * REST v2 takes no such field: there it is not sent, and the watcher alone enforces the end.
   */
  lifetime?: PodLifetime;
}

/** A pod's end as RunPod may enforce it: at `at` (unix ms), stopped or terminated. */
export interface PodLifetime {
  at: number;
  action: 'stop' | 'terminate';
}

/** An on-demand deploy with its whole-pod $/hr ceiling. */
export interface OnDemandDeploy extends DeployRequest {
  deployCost: number;
}

/** A spot deploy at a bid per GPU. */
export interface SpotDeploy extends DeployRequest {
  bidPerGpu: number;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A snapshot's options: `withPods` also reads the account's pods, in the same request where the API allows it. */
export interface SnapshotOptions extends CallOptions {
  withPods?: boolean;
}

/**
 * What the watcher needs from RunPod. Narrow on purpose: a REST v2 implementation can stand
 * behind it without callers changing. Every method throws `RunpodError` on failure.
 */
export interface RunpodApi {
  /** Whether RunPod still serves spot, as this client has found; the one source of that fact. */
  readonly spot: SpotSupport;
  /**
   * Stock, prices and counts for every key, in as few HTTP requests as the API allows (GraphQL: one;
   * REST v2: one per gpuCount and cloud, all at once). With `withPods`, the account's pods come back
   * in `pods` (GraphQL: in the same document; REST v2: a request sent alongside); the pod part
   * failing alone does not fail the snapshot.
   */
  snapshot(keys: readonly WatchKey[], options?: SnapshotOptions): Promise<Snapshot>;
  /** Every GPU type with its lowest price at `gpuCount` on `cloud`, on machines passing `filters`. */
  catalog(query: CatalogQuery, options?: CallOptions): Promise<CatalogEntry[]>;
  /** The data center of one of the account's network volumes, or null when the account has no such volume. */
  networkVolumeDataCenter(volumeId: string, options?: CallOptions): Promise<string | null>;
  /** The account's pods. */
  listPods(options?: CallOptions): Promise<Pod[]>;
  /** One pod, or null when RunPod does not know it. */
  getPod(podId: string, options?: CallOptions): Promise<Pod | null>;
  deployOnDemand(request: OnDemandDeploy, options?: CallOptions): Promise<Pod>;
  deploySpot(request: SpotDeploy, options?: CallOptions): Promise<Pod>;
  resumePod(request: { podId: string; gpuCount: number }, options?: CallOptions): Promise<Pod>;
  bidResumePod(request: { podId: string; gpuCount: number; bidPerGpu: number }, options?: CallOptions): Promise<Pod>;
  stopPod(podId: string, options?: CallOptions): Promise<Pod>;
  /** Deletes the pod for good (GraphQL `podTerminate`, REST v2's `terminate` action). */
  terminatePod(podId: string, options?: CallOptions): Promise<void>;
}
