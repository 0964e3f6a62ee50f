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

/** One thing the watcher records: a GPU type at a GPU count on a cloud. */
export interface WatchKey {
  gpuTypeId: string;
  gpuCount: number;
  cloud: Cloud;
}

/** A stable text form of a key, e.g. `NVIDIA RTX A6000|1|SECURE`, for maps and database rows. */
export function keyId(key: WatchKey): string {
  return `${key.gpuTypeId}|${key.gpuCount}|${key.cloud}`;
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
}

/** Why a key is missing from a snapshot. */
export type DropReason = 'unknown_gpu' | 'malformed' | 'error';

/** The market for a set of keys, from one request. */
export interface Snapshot {
  offers: GpuOffer[];
  /** Keys with no usable answer, and why; never passed inward as offers. */
  dropped: { key: WatchKey; reason: DropReason; detail: string }[];
  /** False once RunPod refused the spot fields: `minBidPrice` is then null everywhere. */
  spotFields: boolean;
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

/**
 * What the watcher needs from RunPod. Narrow on purpose: a REST v2 implementation can stand
 * behind it without callers changing. Every method throws `RunpodError` on failure.
 */
export interface RunpodApi {
  /** Whether RunPod still serves spot, as this client has found; the one source of that fact. */
  readonly spot: SpotSupport;
  /** Stock, prices and counts for every key, in as few HTTP requests as the API allows (GraphQL: one; REST v2: one per gpuCount and cloud). */
  snapshot(keys: readonly WatchKey[], options?: CallOptions): Promise<Snapshot>;
  /** Every GPU type with its lowest price at `gpuCount` on `cloud`. */
  catalog(query: { gpuCount: number; cloud: Cloud }, options?: CallOptions): Promise<CatalogEntry[]>;
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
