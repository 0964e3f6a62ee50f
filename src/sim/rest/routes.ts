import { GraphQLError } from 'graphql';
import { REFUSALS, type Market } from '../market.js';
import { ACTIONS, dataCentersOf, gpuTypeView, levelOf, podView, statusOf, type AvailabilityQuery } from './views.js';

// What the simulator's v2 operations answer, from the same market and pods as its GraphQL side.
// Each runs after its request has passed the OpenAPI checks; what the spec cannot say (RunPod's
// handler rules) is checked here.

/** A v2 answer: a status and a JSON body (none for 204). */
export interface Answer {
  status: number;
  body?: unknown;
}

/**
 * A refusal, answered as problem JSON. `broken` names the handler rule of RunPod's a request broke
 * (a client bug, kept as a violation), when that is why.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly broken?: string,
  ) {
    super(detail);
  }
}

/** What a route reads of its request. */
interface RouteRequest {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
}

type Route = (market: Market, request: RouteRequest, createdAt: string) => Answer;

/** The first data center of a pod's offer, where v2 says it runs. */
function dataCenterOf(market: Market, pod: { gpuTypeId: string; cloud: 'SECURE' | 'COMMUNITY' }): string | null {
  const gpu = market.gpus.get(pod.gpuTypeId);
  const offer = pod.cloud === 'SECURE' ? gpu?.secure : gpu?.community;
  return offer ? (dataCentersOf(offer, pod.cloud)[0]?.id ?? null) : null;
}

/** The catalog's availability query: checked against RunPod's rules, read with its defaults (count 1, SECURE, every CUDA version and country). */
function availabilityQuery(query: URLSearchParams): AvailabilityQuery | undefined {
  const include = query.get('include') !== null;
  const scoped = ['product', 'count', 'cloud', 'countryCodes', 'cudaVersions', 'minCudaVersion'].filter((name) => query.has(name));
  const refuse = (detail: string): Problem => new Problem(400, detail, detail);
  if (include && !query.has('product')) throw refuse('product is required with include=AVAILABILITY');
  if (!include && scoped.length > 0) throw refuse(`${scoped.join(', ')}: valid only with include=AVAILABILITY`);
  if (query.has('cudaVersions') && query.has('minCudaVersion')) throw refuse('cudaVersions and minCudaVersion are mutually exclusive');
  if (!include) return undefined;
  const list = (name: string): string[] | undefined => query.get(name)?.split(',').filter((v) => v !== '');
  const cudaVersions = list('cudaVersions');
  const countryCodes = list('countryCodes');
  return {
    count: Number(query.get('count') ?? 1),
    cloud: query.get('cloud') === 'COMMUNITY' ? 'COMMUNITY' : 'SECURE',
    ...(cudaVersions ? { cudaVersions } : {}),
    ...(countryCodes ? { countryCodes } : {}),
  };
}

/** A market refusal (RunPod's own texts) as a 400, as v2 answers both broken rules and no capacity. */
function marketCall<T>(act: () => T): T {
  try {
    return act();
  } catch (error) {
    if (error instanceof GraphQLError) throw new Problem(400, error.message);
    throw error;
  }
}

function podOr404(market: Market, id: string | undefined) {
  const pod = market.listedPod(id);
  if (!pod) throw new Problem(404, 'pod not found');
  return pod;
}

/** `POST /v2/pods`: a GPU pod on one GPU type and cloud (SECURE when none is named), from the market's stock. */
const createPod: Route = (market, { body = {} }, createdAt) => {
  const gpu = body.gpu as { id: string; count?: number; allowedCudaVersions?: string[]; minCudaVersion?: string } | undefined;
  const refuse = (detail: string): Problem => new Problem(400, detail, detail);
  if ((gpu === undefined) === (body.cpu === undefined)) throw refuse('exactly one of gpu or cpu is required');
  if (!gpu) throw new Problem(400, 'the simulator serves GPU pods only');
  // RunPod refuses every create without a count, with its capacity text (found live).
  if (gpu.count === undefined) throw new Problem(400, REFUSALS.capacity, 'gpu.count is missing: RunPod refuses every create without it');
  if (gpu.allowedCudaVersions?.length && gpu.minCudaVersion !== undefined) throw refuse('allowedCudaVersions and minCudaVersion are mutually exclusive');
  const mounts = body.mounts as { persistent?: unknown; network?: unknown } | undefined;
  if (mounts?.persistent !== undefined && mounts.network !== undefined) throw refuse('mounts: persistent and network are mutually exclusive');
  const cloud = body.cloud === 'COMMUNITY' ? 'COMMUNITY' : 'SECURE';
  // `dataCenterIds` is enforced: none of them with stock for this GPU is RunPod's capacity refusal.
  const wanted = body.dataCenterIds as string[] | undefined;
  const offer = cloud === 'SECURE' ? market.gpus.get(gpu.id)?.secure : market.gpus.get(gpu.id)?.community;
  if (wanted?.length && !(offer && dataCentersOf(offer, cloud).some((dc) => wanted.includes(dc.id) && levelOf(dc.stock) !== 'NONE'))) {
    throw new Problem(400, REFUSALS.capacity);
  }
  const env = Object.entries((body.env as Record<string, string> | undefined) ?? {}).map(([key, value]) => ({ key, value }));
  // The machine filters a create can carry: CUDA versions, and a network volume (its data center).
  const networkVolumeId = (mounts?.network as { volumeId?: string }[] | undefined)?.[0]?.volumeId;
  const filters = { allowedCudaVersions: gpu.allowedCudaVersions, networkVolumeId };
  const pod = marketCall(() =>
    market.deployOnDemand({
      gpuTypeId: gpu.id,
      gpuCount: gpu.count,
      cloudType: cloud,
      name: body.name,
      imageName: body.image,
      templateId: body.templateId,
      env,
      ...filters,
      ...(Array.isArray(body.ports) ? { ports: body.ports.join(',') } : {}),
    }),
  );
  return { status: 201, body: podView(pod, market, createdAt, dataCenterOf(market, pod), 'PROVISIONING') };
};

/** `POST /v2/pods/{id}/action`: start, stop, restart or terminate, when the pod's status allows it (409 otherwise). */
const podAction: Route = (market, { pathParams, body = {} }, createdAt) => {
  const pod = podOr404(market, pathParams.id);
  const action = String(body.action);
  if (!ACTIONS[statusOf(pod, market)].includes(action)) throw new Problem(409, `cannot ${action} a pod that is ${statusOf(pod, market)}`);
  const view = (status?: Parameters<typeof podView>[4]): Answer => ({ status: 200, body: podView(pod, market, createdAt, dataCenterOf(market, pod), status) });
  switch (action) {
    case 'start':
      if (pod.desiredStatus === 'DEAD') pod.desiredStatus = 'EXITED';
      marketCall(() => market.resume({ podId: pod.id, gpuCount: pod.gpuCount }));
      return view('STARTING');
    case 'stop':
      market.stop({ podId: pod.id });
      return view();
    case 'terminate':
      market.terminate({ podId: pod.id });
      return { status: 204 };
    default:
      return view();
  }
};

/** The operations the simulator serves, by operation id; the spec's others answer 501. */
export const ROUTES: Record<string, Route> = {
  listGpuTypes: (market, { query }) => {
    const availability = availabilityQuery(query);
    return { status: 200, body: { gpus: [...market.gpus.values()].map((gpu) => gpuTypeView(gpu, availability)) } };
  },
  getGpuType: (market, { pathParams, query }) => {
    const gpu = market.gpus.get(pathParams.id ?? '');
    if (!gpu) throw new Problem(404, 'GPU type not found');
    return { status: 200, body: gpuTypeView(gpu, availabilityQuery(query)) };
  },
  listPods: (market, _request, createdAt) => ({ status: 200, body: { pods: market.livePods().map((pod) => podView(pod, market, createdAt, dataCenterOf(market, pod))) } }),
  getPod: (market, { pathParams }, createdAt) => {
    const pod = podOr404(market, pathParams.id);
    return { status: 200, body: podView(pod, market, createdAt, dataCenterOf(market, pod)) };
  },
  createPod,
  podAction,
  getNetworkVolume: (market, { pathParams }) => {
    const volume = market.networkVolumes.find((v) => v.id === pathParams.id);
    if (!volume) throw new Problem(404, 'network volume not found');
    return { status: 200, body: { id: volume.id, name: volume.name ?? volume.id, size: volume.size, dataCenter: volume.dataCenterId, type: 'STANDARD' } };
  },
  deletePod: (market, { pathParams }) => {
    market.terminate({ podId: podOr404(market, pathParams.id).id });
    return { status: 204 };
  },
};
