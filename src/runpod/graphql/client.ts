import { ClientError, GraphQLClient } from 'graphql-request';
import type { Logger } from '../../lib/logger.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { VERSION } from '../../lib/version.js';
import { RunpodError, classifyTransportFailure, parseRetryAfter } from '../errors.js';
import { classifyGraphqlErrors, classifyHttpStatus, malformedAnswer, spotFieldRefused, type GraphqlErrorEntry } from './errors.js';
import { deadline } from '../../lib/deadline.js';
import { withRetry } from '../../lib/with-retry.js';
import { DEFAULT_RETRY, isRetryable, retryDelay, type RetryPolicy } from '../retry-policy.js';
import { RequestLimiter } from '../request-limiter.js';
import { SpotSupport, type SpotPersistence } from '../spot.js';
import type { RunpodClientOptions } from '../client-options.js';
import { buildSnapshotQuery, parseSnapshot, type GraphqlRequest } from './snapshot-query.js';
import { buildCatalogQuery, parseCatalog } from './catalog-query.js';
import { podsPart } from '../pod-list.js';
import { GET_POD, LIST_PODS, NETWORK_VOLUMES, PODS_FIELD, TERMINATE_POD, buildPodMutation, deployInput, podSchema, readAccountPods, underMyself, type PodMutation } from './pod-queries.js';
import type { CallOptions, CatalogEntry, CatalogQuery, OnDemandDeploy, Pod, PodsAnswer, RunpodApi, Snapshot, SnapshotOptions, SpotDeploy, WatchKey } from '../types.js';

/** What the GraphQL client needs beyond every client's options. */
export interface GraphqlClientOptions extends RunpodClientOptions {
  /** Absent, only catalog reads work. */
  apiKey?: string | undefined;
  /** Where a spot retirement is kept across restarts; absent, it lasts as long as the client. */
  spotPersistence?: SpotPersistence;
}

interface RawAnswer {
  data: Record<string, unknown> | null;
  errors: GraphqlErrorEntry[];
}

function isMalformedBody(error: unknown): boolean {
  return error instanceof SyntaxError || (error instanceof Error && /invalid execution result/i.test(error.message));
}

/**
 * A 200 answer's parts, or undefined when it is not one GraphQL result: graphql-request passes a
 * JSON array on as a batch (data: an array) and keeps `errors` of any shape, entries included.
 */
function asExecutionResult(result: { data?: unknown; errors?: unknown }): RawAnswer | undefined {
  const data = result.data ?? null;
  const errors = result.errors ?? [];
  const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);
  if ((data !== null && !isObject(data)) || !Array.isArray(errors) || !errors.every(isObject)) return undefined;
  return { data: data as Record<string, unknown> | null, errors: errors as GraphqlErrorEntry[] };
}

/** The RunPod client over GraphQL (graphql-request), the API RunPod serves today. */
export class RunpodGraphqlClient implements RunpodApi {
  private readonly gql: GraphQLClient;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly onError: ((error: RunpodError) => void) | undefined;
  /** Cut out of every error text RunPod sends back: the key (requests add their pod env values). */
  private readonly secrets: readonly string[];
  /** Every request passes it: the process's cap, and RunPod's holds. */
  private readonly limiter: RequestLimiter;
  readonly spot: SpotSupport;

  constructor(options: GraphqlClientOptions) {
    const headers: Record<string, string> = { 'User-Agent': `gpu-watcher/${VERSION}` };
    if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;
    this.gql = new GraphQLClient(options.url, {
      headers,
      errorPolicy: 'all',
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.timeoutMs = options.timeoutMs;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger?.child({ component: 'runpod' });
    this.onError = options.onError;
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.limiter = options.limiter ?? new RequestLimiter({ maxPerMinute: Number.POSITIVE_INFINITY, clock: this.clock, logger: this.logger });
    this.spot = new SpotSupport(options.spotPersistence, this.logger);
  }

  /**
   * One request for every key; with `withPods`, the pod list rides in the same document (`myself`
   * beside the aliases). Errors under `myself` fail only the pod part. A refused key may refuse the
   * whole request over its pod part: the market needs no key, so it is then asked alone, and the
   * pod part carries the refusal.
   */
  async snapshot(keys: readonly WatchKey[], options: SnapshotOptions = {}): Promise<Snapshot> {
    const withPods = options.withPods === true;
    if (keys.length === 0) {
      const empty: Snapshot = { offers: [], dropped: [], spotFields: this.spot.available };
      return withPods ? { ...empty, pods: await podsPart(this.listPods(options), options.signal) } : empty;
    }
    try {
      return await this.spotRead(
        'snapshot',
        (spot) => buildSnapshotQuery(keys, spot, withPods ? PODS_FIELD : undefined),
        true,
        (answer, spot) => {
          const market = { ...answer, errors: answer.errors.filter((e) => !underMyself(e)) };
          let snapshot: Snapshot;
          try {
            snapshot = parseSnapshot(keys, market.data, market.errors, spot, this.secrets);
          } catch (error) {
            throw error instanceof RunpodError ? this.report(error) : error;
          }
          return withPods ? { ...snapshot, pods: this.podsOfAnswer(answer) } : snapshot;
        },
        (snapshot) => snapshot.offers.length > 0,
        options,
      );
    } catch (error) {
      if (!withPods || !(error instanceof RunpodError) || error.kind !== 'auth' || options.signal?.aborted) throw error;
      const market = await this.snapshot(keys, { ...options, withPods: false });
      return { ...market, pods: { error } };
    }
  }

  async catalog(query: CatalogQuery, options: CallOptions = {}): Promise<CatalogEntry[]> {
    const { entries, malformed } = await this.spotRead(
      'catalog',
      (spot) => buildCatalogQuery(query, spot),
      false,
      (answer, spot) => parseCatalog(answer.data, spot),
      (catalog) => catalog.entries.length > 0,
      options,
    );
    if (malformed > 0) this.logger?.warn({ malformed }, 'dropped malformed GPU types from the catalog');
    return entries;
  }

  async listPods(options: CallOptions = {}): Promise<Pod[]> {
    const answer = await this.read('listPods', { document: LIST_PODS, variables: {} }, options);
    return this.readPods(answer.data?.myself);
  }

  /** The account's network volumes (`myself.networkVolumes`), the one named, its `dataCenterId`. */
  async networkVolumeDataCenter(volumeId: string, options: CallOptions = {}): Promise<string | null> {
    const answer = await this.read('networkVolumes', { document: NETWORK_VOLUMES, variables: {} }, options);
    const myself = answer.data?.myself as { networkVolumes?: unknown } | null | undefined;
    if (!myself) {
      const why = this.secrets.length === 0 ? 'no API key: RunPod shows no account, and so no network volume, without one' : 'malformed answer: no account (myself is null) and no error';
      throw this.report(new RunpodError({ kind: this.secrets.length === 0 ? 'auth' : 'transient', operation: 'networkVolumes', status: 200, message: why, mayHaveReachedRunpod: true }));
    }
    const volumes = Array.isArray(myself.networkVolumes) ? (myself.networkVolumes as unknown[]) : [];
    const volume = volumes.find((v) => (v as { id?: unknown } | null)?.id === volumeId) as { dataCenterId?: unknown } | undefined;
    if (!volume) return null;
    if (typeof volume.dataCenterId !== 'string' || volume.dataCenterId === '') throw this.report(malformedAnswer('networkVolumes', 200));
    return volume.dataCenterId;
  }

  async getPod(podId: string, options: CallOptions = {}): Promise<Pod | null> {
    const answer = await this.read('getPod', { document: GET_POD, variables: { input: { podId } } }, options);
    const raw = answer.data?.pod;
    if (raw === null || raw === undefined) return null;
    const result = podSchema.safeParse(raw);
    if (!result.success) throw malformedAnswer('getPod', 200);
    return result.data;
  }

  deployOnDemand(request: OnDemandDeploy, options: CallOptions = {}): Promise<Pod> {
    const input = { ...deployInput(request.spec, request.gpuTypeId, request.gpuCount, request.cloud, request.lifetime), deployCost: request.deployCost };
    return this.mutate('podFindAndDeployOnDemand', input, options);
  }

  deploySpot(request: SpotDeploy, options: CallOptions = {}): Promise<Pod> {
    const input = { ...deployInput(request.spec, request.gpuTypeId, request.gpuCount, request.cloud, request.lifetime), bidPerGpu: request.bidPerGpu };
    return this.mutate('podRentInterruptable', input, options);
  }

  resumePod(request: { podId: string; gpuCount: number }, options: CallOptions = {}): Promise<Pod> {
    return this.mutate('podResume', { podId: request.podId, gpuCount: request.gpuCount }, options);
  }

  bidResumePod(request: { podId: string; gpuCount: number; bidPerGpu: number }, options: CallOptions = {}): Promise<Pod> {
    return this.mutate('podBidResume', { ...request }, options);
  }

  stopPod(podId: string, options: CallOptions = {}): Promise<Pod> {
    return this.mutate('podStop', { podId }, options);
  }

  /** The pod part of a snapshot's answer: the pods, or the error its `myself` field came back with. */
  private podsOfAnswer(answer: RawAnswer): PodsAnswer {
    const errors = answer.errors.filter(underMyself);
    if (errors.length > 0) return { error: this.report(classifyGraphqlErrors('listPods', errors, 200, this.secrets)) };
    try {
      return { pods: this.readPods(answer.data?.myself) };
    } catch (error) {
      if (error instanceof RunpodError) return { error };
      throw error;
    }
  }

  private readPods(myself: unknown): Pod[] {
    try {
      return readAccountPods(myself, this.secrets.length > 0, this.logger);
    } catch (error) {
      throw error instanceof RunpodError ? this.report(error) : error;
    }
  }

  /** `podTerminate`, sent at most once (a mutation is never re-sent once RunPod may have it). */
  async terminatePod(podId: string, options: CallOptions = {}): Promise<void> {
    await this.call('podTerminate', { document: TERMINATE_POD, variables: { input: { podId } } }, true, options.signal, false);
  }

  /**
   * A read that asks for the spot field while RunPod serves spot (or when the daily re-check of a
   * retirement is due), and learns from the answer. Spot is retired only when an error names a
   * spot field, in whatever shape (HTTP 400, errors[] without a code, a per-field error or a null
   * under one), and the same request without the field then brings usable data; anything else
   * (an error naming no spot field, a retry that fails too) leaves spot as it was. A re-check
   * that goes through restores spot.
   */
  private async spotRead<T>(
    operation: string,
    request: (spot: boolean) => GraphqlRequest,
    partial: boolean,
    parse: (answer: RawAnswer, spot: boolean) => T,
    usable: (result: T) => boolean,
    options: CallOptions,
  ): Promise<T> {
    const { spot } = this;
    if (!spot.available && !spot.recheckDue(this.clock.now())) {
      return parse(await this.call(operation, request(false), false, options.signal, partial), false);
    }
    let refusal: string;
    try {
      const answer = await this.call(operation, request(true), false, options.signal, partial);
      const refused = spotFieldRefused(answer.errors, this.secrets);
      if (refused === undefined) {
        spot.restore(this.clock.now());
        return parse(answer, true);
      }
      refusal = `${operation}: ${refused.message}`;
    } catch (error) {
      if (!(error instanceof RunpodError) || error.spotField === undefined) throw error;
      refusal = error.message;
    }
    const result = parse(await this.call(operation, request(false), false, options.signal, partial), false);
    if (usable(result)) spot.retire(refusal, this.clock.now());
    return result;
  }

  /** A query whose any error fails the whole call. */
  private read(operation: string, request: GraphqlRequest, options: CallOptions): Promise<RawAnswer> {
    return this.call(operation, request, false, options.signal, false);
  }

  private async mutate(field: PodMutation, input: Record<string, unknown>, options: CallOptions): Promise<Pod> {
    const answer = await this.call(field, buildPodMutation(field, input), true, options.signal, false);
    const raw = answer.data?.[field];
    if (raw === null || raw === undefined) {
      // RunPod's "usual" no-capacity shape: a null pod and no error.
      throw this.report(new RunpodError({ kind: 'capacity', operation: field, message: 'RunPod returned no pod', mayHaveReachedRunpod: true }));
    }
    const pod = podSchema.safeParse(raw);
    if (!pod.success) throw this.report(malformedAnswer(field, 200));
    return pod.data;
  }

  /**
   * Sends one operation with retries. `partial` keeps errors that name a path (per-alias failures
   * of a snapshot) for the caller instead of failing the call. While RunPod's `Retry-After` holds,
   * nothing is sent: the call fails at once. Each attempt waits for a slot under the cap.
   */
  private call(operation: string, request: GraphqlRequest, mutation: boolean, signal: AbortSignal | undefined, partial: boolean): Promise<RawAnswer> {
    const held = this.limiter.held(operation);
    if (held) return Promise.reject(held);
    return withRetry(() => this.sendOnce(operation, request, mutation, signal, partial), {
      retries: this.retry.retries,
      clock: this.clock,
      signal,
      retryable: (error): error is RunpodError => isRetryable(error, mutation, this.retry),
      delayMs: (attempt, error) => retryDelay(attempt, error, this.retry),
      onRetry: (error, attempt, delayMs) =>
        this.logger?.warn({ operation, kind: error.kind, status: error.status, attempt, delayMs }, 'RunPod call failed; retrying'),
    });
  }

  private async sendOnce(operation: string, request: GraphqlRequest, mutation: boolean, signal: AbortSignal | undefined, partial: boolean): Promise<RawAnswer> {
    const secrets = [...this.secrets, ...(request.secrets ?? [])];
    // Waiting for a slot is not part of the request's own timeout.
    await this.limiter.admit(operation, mutation, signal);
    const limit = deadline(this.timeoutMs, signal);
    let result: { data?: unknown; errors?: unknown };
    try {
      if (signal?.aborted) throw signal.reason;
      const response = await this.gql.rawRequest<Record<string, unknown>>({ query: request.document, variables: request.variables, signal: limit.signal });
      if (response.headers instanceof Headers) this.limiter.noteHeaders(response.headers);
      result = response;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw this.report(this.classifyThrown(operation, error, limit.timedOut, secrets));
    } finally {
      limit.release();
    }
    const answer = asExecutionResult(result);
    if (!answer) throw this.report(malformedAnswer(operation, 200));
    const fatal = partial ? answer.errors.filter((e) => !Array.isArray(e.path) || e.path.length === 0) : answer.errors;
    if (fatal.length > 0 || (partial && answer.data === null && answer.errors.length > 0)) {
      throw this.report(classifyGraphqlErrors(operation, fatal.length > 0 ? fatal : answer.errors, 200, secrets));
    }
    return answer;
  }

  private classifyThrown(operation: string, error: unknown, timedOut: boolean, secrets: readonly string[]): RunpodError {
    if (error instanceof ClientError) {
      const { status, headers } = error.response;
      if (headers instanceof Headers) this.limiter.noteHeaders(headers);
      const retryAfter = parseRetryAfter(headers?.get('retry-after') ?? null, this.clock.now());
      return classifyHttpStatus(operation, status, error.response.errors as GraphqlErrorEntry[] | undefined, retryAfter, secrets);
    }
    if (timedOut) return classifyTransportFailure(operation, error, this.timeoutMs);
    if (isMalformedBody(error)) return malformedAnswer(operation, 200);
    return classifyTransportFailure(operation, error, undefined, secrets);
  }

  /** Every failed attempt passes here: counted, and a `Retry-After` it carries holds what follows. */
  private report(error: RunpodError): RunpodError {
    this.limiter.noteError(error);
    this.onError?.(error);
    return error;
  }
}
