import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { RunpodError } from './errors.js';
import type { SpotSupport } from './spot.js';
import type { CallOptions, CatalogEntry, CatalogQuery, OnDemandDeploy, Pod, RunpodApi, Snapshot, SnapshotOptions, SpotDeploy, WatchKey } from './types.js';

/** Which of RunPod's APIs a call goes to: GraphQL (`api.url`) or REST v2 (`api.restUrl`). */
export type ApiSource = 'graphql' | 'rest';

/** The config's `api.source`: one API for good, or `auto` (GraphQL while it answers, then v2). */
type ApiSourceSetting = 'auto' | ApiSource;

/** How long GraphQL polls must keep failing, while v2 answers, before `auto` polls through v2 for a while. */
export const FALLBACK_AFTER_MS = 30 * 60_000;

/** While on that fallback, how often GraphQL is tried again (first, before v2) to see whether it answers. */
export const GRAPHQL_RETRY_EVERY_MS = 5 * 60_000;

/** How many polls in a row GraphQL must answer 404, while v2 answers, to count as retired. */
export const NOT_FOUND_POLLS = 3;

/** What the wrapper needs: both clients, the setting, and what is known of an earlier switch. */
export interface SwitchingOptions {
  graphql: RunpodApi;
  rest: RunpodApi;
  setting: ApiSourceSetting;
  /** True when an earlier run switched to v2 for good (the daemon's persisted fact). */
  switched: boolean;
  clock: Clock;
  logger?: Logger;
  /**
   * Told once, when `auto` switches to v2 for good, before the call that found it is retried through
   * v2: the caller persists the fact and tells `api.switched`.
   */
  onSwitched?: (detail: string, at: number) => void;
}

/**
 * The RunPod client the daemon uses: GraphQL or REST v2 behind one RunpodApi. With `auto` it calls
 * GraphQL while GraphQL answers and moves market and pods to v2 for good on the first sign that
 * GraphQL is retired (HTTP 410; or 404 from its endpoint three polls in a row while v2 answers),
 * retrying the call that found it through v2 at once, so the cycle goes on. While GraphQL merely
 * fails (30 minutes of failed polls on the monotonic clock) and v2 answers, polls and pod calls go
 * to v2, and GraphQL is tried first again every five minutes until it answers. A mutation is re-sent
 * through v2 only when RunPod provably never processed it through GraphQL.
 */
export class SwitchingRunpodApi implements RunpodApi {
  private switchedForGood: boolean;
  /** Monotonic time of the first GraphQL poll of the current run of failures; undefined while it answers. */
  private failingSinceMono: number | undefined;
  /** Monotonic time GraphQL was last tried while on the fallback; undefined when not on it. */
  private fallbackTriedMono: number | undefined;
  private notFoundPolls = 0;
  private readonly log: Logger | undefined;
  /**
   * One spot support for the whole run, since the rules subscribe to it once at start: v2's
   * (retired for good) when v2 is used from the start, else GraphQL's, which a switch retires.
   */
  readonly spot: SpotSupport;

  constructor(private readonly options: SwitchingOptions) {
    this.switchedForGood = options.setting === 'auto' && options.switched;
    this.log = options.logger?.child({ component: 'api-source' });
    this.spot = options.setting === 'rest' || this.switchedForGood ? options.rest.spot : options.graphql.spot;
  }

  /** The API calls go to now. */
  get source(): ApiSource {
    if (this.options.setting !== 'auto') return this.options.setting;
    return this.switchedForGood || this.fallbackTriedMono !== undefined ? 'rest' : 'graphql';
  }

  async snapshot(keys: readonly WatchKey[], options?: SnapshotOptions): Promise<Snapshot> {
    if (this.options.setting !== 'auto' || this.switchedForGood) return this.current().snapshot(keys, options);
    const { clock } = this.options;
    if (this.fallbackTriedMono !== undefined && clock.monotonic() - this.fallbackTriedMono < GRAPHQL_RETRY_EVERY_MS) {
      try {
        return await this.options.rest.snapshot(keys, options);
      } catch (error) {
        // v2 fails too: the next poll asks GraphQL first again.
        this.fallbackTriedMono = undefined;
        throw error;
      }
    }
    try {
      const snapshot = await this.options.graphql.snapshot(keys, options);
      this.graphqlAnswered();
      return snapshot;
    } catch (error) {
      if (!(error instanceof RunpodError) || options?.signal?.aborted) throw error;
      return this.afterGraphqlPollFailed(error, () => this.options.rest.snapshot(keys, options));
    }
  }

  catalog(query: CatalogQuery, options?: CallOptions): Promise<CatalogEntry[]> {
    return this.read((api) => api.catalog(query, options));
  }

  networkVolumeDataCenter(volumeId: string, options?: CallOptions): Promise<string | null> {
    return this.read((api) => api.networkVolumeDataCenter(volumeId, options));
  }

  listPods(options?: CallOptions): Promise<Pod[]> {
    return this.read((api) => api.listPods(options));
  }

  getPod(podId: string, options?: CallOptions): Promise<Pod | null> {
    return this.read((api) => api.getPod(podId, options));
  }

  deployOnDemand(request: OnDemandDeploy, options?: CallOptions): Promise<Pod> {
    return this.mutate((api) => api.deployOnDemand(request, options));
  }

  deploySpot(request: SpotDeploy, options?: CallOptions): Promise<Pod> {
    return this.mutate((api) => api.deploySpot(request, options));
  }

  resumePod(request: { podId: string; gpuCount: number }, options?: CallOptions): Promise<Pod> {
    return this.mutate((api) => api.resumePod(request, options));
  }

  bidResumePod(request: { podId: string; gpuCount: number; bidPerGpu: number }, options?: CallOptions): Promise<Pod> {
    return this.mutate((api) => api.bidResumePod(request, options));
  }

  stopPod(podId: string, options?: CallOptions): Promise<Pod> {
    return this.mutate((api) => api.stopPod(podId, options));
  }

  terminatePod(podId: string, options?: CallOptions): Promise<void> {
    return this.mutate((api) => api.terminatePod(podId, options));
  }

  private current(): RunpodApi {
    return this.source === 'rest' ? this.options.rest : this.options.graphql;
  }

  /** A read goes to the API in use; a GraphQL 410 switches for good and the read is asked of v2 at once. */
  private async read<T>(call: (api: RunpodApi) => Promise<T>): Promise<T> {
    const api = this.current();
    try {
      return await call(api);
    } catch (error) {
      if (api !== this.options.graphql || !this.retiredAnswer(error)) throw error;
      return call(this.options.rest);
    }
  }

  /**
   * A mutation goes to the API in use. After a GraphQL 410 it is re-sent through v2 only when
   * RunPod provably never processed it; otherwise the error stands and the deploy journal's
   * reconciliation (which reads the pod list through v2 from then on) finds out what happened.
   */
  private async mutate<T>(call: (api: RunpodApi) => Promise<T>): Promise<T> {
    const api = this.current();
    try {
      return await call(api);
    } catch (error) {
      if (api !== this.options.graphql || !this.retiredAnswer(error) || (error as RunpodError).mayHaveReachedRunpod) throw error;
      return call(this.options.rest);
    }
  }

  /** Whether `error` is GraphQL's 410 under `auto`; if so, switches for good. */
  private retiredAnswer(error: unknown): boolean {
    if (this.options.setting !== 'auto' || !(error instanceof RunpodError) || error.kind !== 'retired') return false;
    this.switchForGood(error.message);
    return true;
  }

  private graphqlAnswered(): void {
    if (this.fallbackTriedMono !== undefined) this.log?.warn('RunPod GraphQL answers again: polls and pod calls go back to it');
    this.failingSinceMono = undefined;
    this.fallbackTriedMono = undefined;
    this.notFoundPolls = 0;
  }

  /** Decides, after a failed GraphQL poll, whether v2 answers it instead (for good, or for a while). */
  private async afterGraphqlPollFailed(error: RunpodError, viaRest: () => Promise<Snapshot>): Promise<Snapshot> {
    if (this.retiredAnswer(error)) return viaRest();
    const now = this.options.clock.monotonic();
    this.failingSinceMono ??= now;
    this.notFoundPolls = error.status === 404 ? this.notFoundPolls + 1 : 0;
    const notFoundLongEnough = this.notFoundPolls >= NOT_FOUND_POLLS;
    const failingLongEnough = now - this.failingSinceMono >= FALLBACK_AFTER_MS;
    if (!notFoundLongEnough && !failingLongEnough) throw error;
    let snapshot: Snapshot;
    try {
      snapshot = await viaRest();
    } catch {
      // v2 does not answer either: the poll fails with GraphQL's error, the one in use.
      this.fallbackTriedMono = undefined;
      throw error;
    }
    if (notFoundLongEnough) {
      this.switchForGood(`RunPod's GraphQL endpoint answered 404 ${this.notFoundPolls} polls in a row while REST v2 answers (${error.message})`);
    } else {
      if (this.fallbackTriedMono === undefined) this.log?.warn({ detail: error.message, failingForMs: now - this.failingSinceMono }, 'RunPod GraphQL has failed for 30 minutes while REST v2 answers: polling through v2 until GraphQL answers again');
      this.fallbackTriedMono = now;
    }
    return snapshot;
  }

  private switchForGood(detail: string): void {
    if (this.switchedForGood) return;
    this.switchedForGood = true;
    this.fallbackTriedMono = undefined;
    const at = this.options.clock.now();
    this.log?.warn({ detail }, 'RunPod has retired GraphQL: the watcher uses REST v2 for market and pods from now on');
    this.options.graphql.spot.retire('RunPod REST v2, which the watcher now uses, has no spot pods', at);
    this.options.onSwitched?.(detail, at);
  }
}
