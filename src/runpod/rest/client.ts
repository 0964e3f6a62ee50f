import createClient, { type Client } from 'openapi-fetch';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { sanitise } from '../../lib/sanitise.js';
import { VERSION } from '../../lib/version.js';
import { RunpodError } from '../errors.js';
import { DEFAULT_RETRY } from '../retry-policy.js';
import { RequestLimiter } from '../request-limiter.js';
import { SpotSupport } from '../spot.js';
import type { RunpodClientOptions } from '../client-options.js';
import { parsePodList, podsPart } from '../pod-list.js';
import type { CallOptions, CatalogEntry, CatalogQuery, OnDemandDeploy, Pod, RunpodApi, Snapshot, SnapshotOptions, SpotDeploy, WatchKey } from '../types.js';
import { catalogEntries, offerFor, pairId, pairsFor, readCatalog, unappliedFilters, type CatalogAnswer, type CatalogPair, type SingleCloud } from './catalog.js';
import { refusedBeforeSending } from './errors.js';
import { createBody, envSecrets, podListSchema, podSchema } from './pods.js';
import { RestTransport, type Reading } from './transport.js';
import type { paths } from './v2-schema.js';

/** What the REST v2 client needs: every client's options, read as v2 reads them. */
interface RunpodRestClientOptions extends RunpodClientOptions {
  /** The v2 base, ending in `/v2` (`https://api.runpod.io/v2`); the spec's paths start with `/v2/`. */
  url: string;
  /** v2 answers nothing without it. */
  apiKey?: string | undefined;
}

/** Why spot is unavailable through this client, for good. */
const NO_SPOT = 'RunPod REST v2 has no spot pods';

/** The most telling of several failures: a retired API or a refused key says more than the rest. */
function mostTelling(errors: readonly RunpodError[]): RunpodError | undefined {
  return errors.find((e) => e.kind === 'retired') ?? errors.find((e) => e.kind === 'auth') ?? errors[0];
}

const readPod = (data: unknown): Reading<Pod> => {
  const parsed = podSchema.safeParse(data);
  return parsed.success ? { value: parsed.data } : { malformed: 'not a v2 pod' };
};

/**
 * The RunPod client over REST v2 (openapi-fetch, typed from the project's copy of RunPod's OpenAPI
 * file), behind the same interface as the GraphQL client. What v2 cannot do is refused before
 * sending: spot (it has none), `minVcpuCount`, `minMemoryInGb`, `supportPublicIp`, and a resume
 * that changes the pod's GPU count. It has no `deployCost` ceiling either: that one is not sent.
 */
export class RunpodRestClient implements RunpodApi {
  private readonly api: Client<paths>;
  private readonly transport: RestTransport;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly secrets: readonly string[];
  /**
   * For each GPU type and count watched on ALL: the cloud whose offer the last snapshot showed. v2
   * creates on one cloud, so a deploy on ALL goes where the offer the rules judged is (SECURE,
   * v2's own default, when no snapshot has shown it).
   */
  private readonly allCloud = new Map<string, SingleCloud>();
  readonly spot: SpotSupport;

  constructor(options: RunpodRestClientOptions) {
    const base = options.url.replace(/\/+$/, '');
    if (!base.endsWith('/v2')) throw new Error(`the RunPod REST URL must end in /v2 (e.g. https://api.runpod.io/v2), got ${sanitise(options.url)}`);
    const headers: Record<string, string> = { 'User-Agent': `gpu-watcher/${VERSION}` };
    if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
    this.api = createClient<paths>({
      baseUrl: base.slice(0, -'/v2'.length),
      headers,
      // v2's list parameters are comma-separated (`style: form, explode: false`).
      querySerializer: { array: { style: 'form', explode: false } },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger?.child({ component: 'runpod' });
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.transport = new RestTransport({
      timeoutMs: options.timeoutMs,
      retry: options.retry ?? DEFAULT_RETRY,
      clock: this.clock,
      logger: this.logger,
      limiter: options.limiter ?? new RequestLimiter({ maxPerMinute: Number.POSITIVE_INFINITY, clock: this.clock, logger: this.logger }),
      onError: options.onError,
      secrets: this.secrets,
    });
    this.spot = new SpotSupport({ load: () => ({ detail: NO_SPOT, at: this.clock.now() }), save: () => undefined }, this.logger);
  }

  /**
   * One catalog request per distinct (gpuCount, cloud, CUDA versions, country) among the keys, all
   * in flight at once; with `withPods`, the pod list goes out together with them, and its failure
   * is the pod part's alone. A key filtering on what v2 cannot (vCPUs, memory, public IP, disk) is
   * dropped as `unsupported`, never answered with stock it was not asked about.
   */
  async snapshot(keys: readonly WatchKey[], options: SnapshotOptions = {}): Promise<Snapshot> {
    const [market, pods] = await Promise.allSettled([
      this.market(keys, options.signal),
      options.withPods ? podsPart(this.listPods(options), options.signal) : Promise.resolve(undefined),
    ]);
    if (market.status === 'rejected') throw market.reason;
    if (pods.status === 'rejected') throw pods.reason;
    return pods.value ? { ...market.value, pods: pods.value } : market.value;
  }

  private async market(keys: readonly WatchKey[], signal: AbortSignal | undefined): Promise<Snapshot> {
    if (keys.length === 0) return { offers: [], dropped: [], spotFields: false };
    const snapshot: Snapshot = { offers: [], dropped: [], spotFields: false };
    const answerable = keys.filter((key) => {
      const unapplied = unappliedFilters(key.filters);
      if (unapplied.length > 0) snapshot.dropped.push({ key, reason: 'unsupported', detail: `RunPod REST v2 cannot filter stock by ${unapplied.join(', ')}` });
      return unapplied.length === 0;
    });
    const { answers, failures } = await this.catalogPages(pairsFor(answerable), signal);
    for (const key of answerable) {
      const found = offerFor(key, answers);
      if ('offer' in found) {
        snapshot.offers.push(found.offer);
        if (key.cloud === 'ALL') this.allCloud.set(`${key.gpuTypeId}|${key.gpuCount}`, found.cloud);
        continue;
      }
      const failure = mostTelling(pairsFor([key]).flatMap((pair) => failures.get(pairId(pair)) ?? []));
      const detail =
        found.reason === 'error'
          ? (failure?.message ?? 'request failed')
          : found.reason === 'malformed'
            ? `RunPod's catalog entry for "${key.gpuTypeId}" is malformed`
            : `RunPod has no GPU type "${key.gpuTypeId}"`;
      snapshot.dropped.push({ key, reason: found.reason, detail });
    }
    if (snapshot.offers.length === 0) throw this.noUsableKey(snapshot, [...failures.values()]);
    return snapshot;
  }

  /** Every GPU type at `gpuCount` on `cloud` (ALL: both clouds' answers merged, filters applied, as for a snapshot). */
  async catalog(query: CatalogQuery, options: CallOptions = {}): Promise<CatalogEntry[]> {
    const unapplied = unappliedFilters(query.filters);
    if (unapplied.length > 0) throw this.transport.report(refusedBeforeSending('catalog', `RunPod REST v2 cannot filter stock by ${unapplied.join(', ')}`));
    const { answers, failures } = await this.catalogPages(pairsFor([query]), options.signal);
    const failure = mostTelling([...failures.values()]);
    if (failure) throw failure;
    return catalogEntries(query, answers);
  }

  /** `GET /v2/network-volumes/{id}`: the volume's `dataCenter`, or null on a 404. */
  networkVolumeDataCenter(volumeId: string, options: CallOptions = {}): Promise<string | null> {
    return this.transport.run<string | null>({
      operation: 'networkVolumes',
      mutation: false,
      send: (signal) => this.api.GET('/v2/network-volumes/{id}', { params: { path: { id: volumeId } }, signal }),
      read: (data) => {
        const dataCenter = (data as { dataCenter?: unknown } | null)?.dataCenter;
        return typeof dataCenter === 'string' && dataCenter !== '' ? { value: dataCenter } : { malformed: 'no dataCenter' };
      },
      notFound: { value: null },
      signal: options.signal,
    });
  }

  async listPods(options: CallOptions = {}): Promise<Pod[]> {
    const raw = await this.transport.run<unknown[]>({
      operation: 'listPods',
      mutation: false,
      send: (signal) => this.api.GET('/v2/pods', { signal }),
      read: (data) => {
        const parsed = podListSchema.safeParse(data);
        return parsed.success ? { value: parsed.data.pods } : { malformed: 'no pods list' };
      },
      signal: options.signal,
    });
    return parsePodList(raw, podSchema, this.logger);
  }

  getPod(podId: string, options: CallOptions = {}): Promise<Pod | null> {
    return this.transport.run<Pod | null>({
      operation: 'getPod',
      mutation: false,
      send: (signal) => this.api.GET('/v2/pods/{id}', { params: { path: { id: podId } }, signal }),
      read: readPod,
      notFound: { value: null },
      signal: options.signal,
    });
  }

  /** `POST /v2/pods` on the request's cloud; ALL goes to the cloud the last snapshot's offer was on. */
  deployOnDemand(request: OnDemandDeploy, options: CallOptions = {}): Promise<Pod> {
    const cloud = request.cloud === 'ALL' ? (this.allCloud.get(`${request.gpuTypeId}|${request.gpuCount}`) ?? 'SECURE') : request.cloud;
    const made = createBody(request, cloud);
    if ('refused' in made) return Promise.reject(this.transport.report(refusedBeforeSending('createPod', made.refused)));
    return this.transport.run({
      operation: 'createPod',
      mutation: true,
      send: (signal) => this.api.POST('/v2/pods', { body: made.body, signal }),
      read: readPod,
      secrets: envSecrets(request.spec),
      signal: options.signal,
    });
  }

  deploySpot(_request: SpotDeploy, _options?: CallOptions): Promise<Pod> {
    return Promise.reject(this.noSpot('deploySpot', 'bidPerGpu'));
  }

  /**
   * `start` on a stopped pod. v2 starts a pod with the GPUs it has, so a resume asking for another
   * count is refused before anything is sent (the pod is read first to know).
   */
  async resumePod(request: { podId: string; gpuCount: number }, options: CallOptions = {}): Promise<Pod> {
    const current = await this.getPod(request.podId, options);
    if (!current) throw this.transport.report(refusedBeforeSending('startPod', `RunPod knows no pod "${request.podId}"`));
    if (current.gpuCount !== request.gpuCount) {
      const why = `pod ${current.id} has ${current.gpuCount} GPU(s); RunPod REST v2 cannot start it with ${request.gpuCount}`;
      throw this.transport.report(refusedBeforeSending('startPod', why));
    }
    return this.action('startPod', request.podId, 'start', options);
  }

  bidResumePod(_request: { podId: string; gpuCount: number; bidPerGpu: number }, _options?: CallOptions): Promise<Pod> {
    return Promise.reject(this.noSpot('bidResumePod', 'bidPerGpu'));
  }

  stopPod(podId: string, options: CallOptions = {}): Promise<Pod> {
    return this.action('stopPod', podId, 'stop', options);
  }

  /** The `terminate` action: 204 and no body. */
  async terminatePod(podId: string, options: CallOptions = {}): Promise<void> {
    await this.transport.run<undefined>({
      operation: 'terminatePod',
      mutation: true,
      send: (signal) => this.api.POST('/v2/pods/{id}/action', { params: { path: { id: podId } }, body: { action: 'terminate' }, signal }),
      read: () => ({ value: undefined }),
      signal: options.signal,
    });
  }

  private action(operation: string, podId: string, action: 'start' | 'stop', options: CallOptions): Promise<Pod> {
    return this.transport.run({
      operation,
      mutation: true,
      send: (signal) => this.api.POST('/v2/pods/{id}/action', { params: { path: { id: podId } }, body: { action }, signal }),
      read: readPod,
      signal: options.signal,
    });
  }

  /** The catalog pages for `pairs`, requested in parallel; each page's failure is kept apart. */
  private async catalogPages(
    pairs: readonly CatalogPair[],
    signal: AbortSignal | undefined,
  ): Promise<{ answers: Map<string, CatalogAnswer>; failures: Map<string, RunpodError> }> {
    const settled = await Promise.allSettled(pairs.map((pair) => this.catalogPage(pair, signal)));
    if (signal?.aborted) throw signal.reason;
    const answers = new Map<string, CatalogAnswer>();
    const failures = new Map<string, RunpodError>();
    let malformed = 0;
    settled.forEach((result, index) => {
      const id = pairId(pairs[index] as CatalogPair);
      if (result.status === 'fulfilled') {
        answers.set(id, result.value);
        malformed += result.value.malformed;
      } else if (result.reason instanceof RunpodError) failures.set(id, result.reason);
      else throw result.reason;
    });
    if (malformed > 0) this.logger?.warn({ malformed }, 'dropped malformed GPU types from the catalog');
    return { answers, failures };
  }

  private catalogPage(pair: CatalogPair, signal: AbortSignal | undefined): Promise<CatalogAnswer> {
    return this.transport.run<CatalogAnswer>({
      operation: 'snapshot',
      mutation: false,
      send: (s) =>
        this.api.GET('/v2/catalog/gpus', {
          params: {
            query: {
              include: ['AVAILABILITY'],
              product: ['POD'],
              count: pair.gpuCount,
              cloud: pair.cloud,
              ...(pair.cudaVersions ? { cudaVersions: pair.cudaVersions } : {}),
              ...(pair.countryCode ? { countryCodes: [pair.countryCode] } : {}),
            },
          },
          signal: s,
        }),
      read: (data) => {
        const answer = readCatalog(data);
        return answer ? { value: answer } : { malformed: 'no gpus list' };
      },
      signal,
    });
  }

  /**
   * The error for a snapshot in which no key got usable data, so that such a poll fails instead of
   * passing as an empty one: every request failed (the most telling failure), RunPod knows none of
   * the GPU types (the request is wrong), or anything else (transient, tried again next cycle).
   */
  private noUsableKey(snapshot: Snapshot, failures: readonly RunpodError[]): RunpodError {
    const reasons = new Set(snapshot.dropped.map((d) => d.reason));
    const failure = mostTelling(failures);
    if (reasons.size === 1 && reasons.has('error') && failure) return failure;
    const detail = sanitise([...new Set(snapshot.dropped.map((d) => d.detail))].join(' | '), this.secrets);
    const kind = reasons.size === 1 && reasons.has('unknown_gpu') ? 'invalid_request' : 'transient';
    return this.transport.report(new RunpodError({ kind, operation: 'snapshot', message: `every key failed: ${detail}`, mayHaveReachedRunpod: true }));
  }

  /** v2 has no spot: a spot call fails as `unsupported`, naming the field, without being sent. */
  private noSpot(operation: string, field: string): RunpodError {
    return this.transport.report(new RunpodError({ kind: 'unsupported', operation, message: `${NO_SPOT} (${field})`, spotField: field, mayHaveReachedRunpod: false }));
  }
}
