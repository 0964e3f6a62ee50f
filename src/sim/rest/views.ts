import { filteredStock, type SimFilters } from '../filters.js';
import type { Market } from '../market.js';
import { containerAt, type SimPod } from '../pod.js';
import { podSeed, runtimePorts } from '../views.js';
import type { SimGpu, SimOffer } from '../scenario.js';

// The simulator's market and pods as REST v2 shows them (the spec's GpuType and Pod).

type Level = 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH';
type V2Status = 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'EXITED' | 'ERROR' | 'TERMINATED';

const RANK: Record<Level, number> = { NONE: 0, LOW: 1, MEDIUM: 2, HIGH: 3 };

/** A GraphQL stock word (any case, null) as v2's level. */
export function levelOf(word: string | null | undefined): Level {
  const upper = (word ?? '').trim().toUpperCase();
  return upper === 'HIGH' || upper === 'MEDIUM' || upper === 'LOW' ? upper : 'NONE';
}

/** An offer's level for pods of `count` GPUs on machines passing `filters`: none when its deployable counts leave that count out. */
function levelFor(gpu: SimGpu, cloud: 'SECURE' | 'COMMUNITY', offer: SimOffer | undefined, count: number, filters: SimFilters): Level {
  if (!offer || (offer.counts !== null && !offer.counts.includes(count))) return 'NONE';
  return levelOf(filteredStock(gpu, cloud, offer, filters, count));
}

/** An offer's data centers, with the scenario's or one made up from the offer's own stock. */
export function dataCentersOf(offer: SimOffer, cloud: 'SECURE' | 'COMMUNITY'): { id: string; name: string; stock: string | null }[] {
  if (offer.dataCenters) return offer.dataCenters.map((dc) => ({ id: dc.id, name: dc.name ?? dc.id, stock: dc.stock }));
  return cloud === 'SECURE' ? [{ id: 'US-KS-2', name: 'US Kansas 2', stock: offer.stock }] : [{ id: 'EU-RO-1', name: 'EU Romania 1', stock: offer.stock }];
}

/** The largest pod an offer can make: its largest deployable count, 8 when it does not say, 0 without an offer. */
const maxCount = (offer: SimOffer | undefined): number => (offer ? Math.max(0, ...(offer.counts ?? [8])) : 0);

/** The availability a catalog request asks for: a count on a cloud, scoped to CUDA versions and countries. */
export interface AvailabilityQuery {
  count: number;
  cloud: 'SECURE' | 'COMMUNITY';
  cudaVersions?: string[];
  countryCodes?: string[];
}

/** A v2 data center's country, from its id (`EU-RO-1`: RO; `US-KS-2`: US): the simulator's ids follow RunPod's pattern. */
const countryOfDc = (id: string): string | undefined => id.split('-')[1];

/**
 * A GPU type as `GET /v2/catalog/gpus` lists it; with `availability`, priced for `count` GPUs on
 * `cloud` (v2's default: SECURE), its level scoped to the CUDA versions asked for (the best of
 * them) and its data centers to the countries asked for. A price the scenario leaves null is 0:
 * v2 always lists one.
 */
export function gpuTypeView(gpu: SimGpu, availability: AvailabilityQuery | undefined): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: gpu.id,
    name: gpu.displayName ?? gpu.id,
    pool: null,
    manufacturer: gpu.id.startsWith('AMD') ? 'AMD' : 'NVIDIA',
    memory: gpu.memoryInGb ?? 0,
    secure: gpu.secure !== undefined,
    community: gpu.community !== undefined,
    price: { secure: gpu.secure?.price ?? 0, community: gpu.community?.price ?? 0 },
    maxCount: { secure: maxCount(gpu.secure), community: maxCount(gpu.community) },
  };
  if (!availability) return view;
  const { count, cloud, cudaVersions, countryCodes } = availability;
  const offer = cloud === 'SECURE' ? gpu.secure : gpu.community;
  const cuda: SimFilters = cudaVersions ? { cudaVersions } : {};
  const centers = offer ? dataCentersOf(offer, cloud).filter((dc) => !countryCodes || countryCodes.includes(countryOfDc(dc.id) ?? '')) : [];
  // Scoped to countries, the level is the best of the data centers there (none: no data center there).
  const scoped = offer && countryCodes ? { ...offer, stock: centers.reduce<string | null>((a, dc) => (RANK[levelOf(dc.stock)] > RANK[levelOf(a)] ? dc.stock : a), 'None') } : offer;
  view.availability = levelFor(gpu, cloud, scoped, count, cuda);
  if (offer && view.availability !== 'NONE') {
    // Each data center's level, on the machines running the CUDA versions asked for.
    view.dataCenters = centers.map((dc) => ({ id: dc.id, name: dc.name, availability: levelFor(gpu, cloud, { ...offer, stock: dc.stock }, count, cuda) }));
  }
  const versions = offer?.cudaVersions?.map(({ version, available }) => ({ version, available })) ?? (offer ? ['12.4', '12.8'].map((version) => ({ version, available: view.availability !== 'NONE' })) : []);
  const listed = cudaVersions ? versions.filter((c) => cudaVersions.includes(c.version)) : versions;
  if (listed.length > 0) view.cudaVersions = listed;
  return view;
}

/** GraphQL's `desiredStatus` as v2's `status`. */
const STATUS: Record<SimPod['desiredStatus'], V2Status> = {
  CREATED: 'PROVISIONING',
  RESTARTING: 'STARTING',
  RUNNING: 'RUNNING',
  EXITED: 'EXITED',
  PAUSED: 'EXITED',
  DEAD: 'ERROR',
  TERMINATED: 'TERMINATED',
};

/** The actions v2 allows in each status; anything else is a 409. */
export const ACTIONS: Record<V2Status, string[]> = {
  PROVISIONING: ['stop', 'terminate'],
  STARTING: ['stop', 'terminate'],
  RUNNING: ['stop', 'restart', 'terminate'],
  EXITED: ['start', 'terminate'],
  ERROR: ['start', 'terminate'],
  TERMINATED: [],
};

/** A pod's v2 status: a running pod is STARTING until its container is up, ERROR once it failed. */
export function statusOf(pod: SimPod, market: Market): V2Status {
  if (pod.desiredStatus !== 'RUNNING') return STATUS[pod.desiredStatus];
  const { state } = containerAt(pod, market.clock.now());
  return state === 'up' ? 'RUNNING' : state === 'error' ? 'ERROR' : 'STARTING';
}

/** v2's runtime block for a pod whose container is up: uptime, per-GPU utilisation, mapped ports. */
function runtimeOf(pod: SimPod, market: Market): Record<string, unknown> | null {
  const container = containerAt(pod, market.clock.now());
  if (pod.desiredStatus !== 'RUNNING' || container.state !== 'up') return null;
  const ports = runtimePorts(pod, podSeed(pod)).map((p) => ({
    private: p.privatePort,
    public: p.isIpPublic ? p.publicPort : null,
    type: p.type,
    ip: p.isIpPublic ? p.ip : null,
  }));
  const gpus = Array.from({ length: pod.gpuCount }, () => ({ util: container.gpuUtil, memoryUtil: container.gpuUtil > 0 ? 40 : 0 }));
  return { uptime: container.uptimeSeconds, gpus, cpu: { util: container.gpuUtil > 0 ? 25 : 0 }, memory: { util: container.gpuUtil > 0 ? 10 : 0 }, ports };
}

/**
 * A pod as v2 answers it. `status` overrides the pod's own: a create answers PROVISIONING and a start
 * STARTING (v2 starts pods asynchronously) while the market already holds them running. The env's
 * `KEY=value` lines become v2's map.
 */
export function podView(pod: SimPod, market: Market, createdAt: string, dataCenterId: string | null, status: V2Status = statusOf(pod, market)): Record<string, unknown> {
  const env = Object.fromEntries(pod.env.filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const running = status === 'RUNNING';
  return {
    id: pod.id,
    name: pod.name,
    status,
    actions: ACTIONS[status],
    image: pod.imageName ?? '',
    args: '',
    disk: 20,
    mounts: {},
    ports: (pod.spec.ports ?? '').split(',').map((p) => p.trim()).filter((p) => p !== ''),
    env,
    registry: null,
    gpu: { id: pod.gpuTypeId, count: pod.gpuCount },
    cloud: pod.cloud,
    dataCenterId,
    cudaVersion: '12.8',
    ssh: { proxy: null, direct: null },
    template: null,
    // v2 bills nothing for a stopped pod.
    cost: status === 'EXITED' || status === 'TERMINATED' ? 0 : pod.costPerHr,
    locked: false,
    runtime: running ? runtimeOf(pod, market) : null,
    createdAt,
    startedAt: running ? createdAt : null,
    globalNetworking: { enabled: false },
  };
}
