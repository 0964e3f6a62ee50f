import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunpodError } from '../runpod/errors.js';
import { filtersId, stockRank } from '../runpod/types.js';
import type { Store } from '../store/store.js';
import type { ApiSource } from '../runpod/switching.js';
import type { DeliveryStats } from '../notify/dispatcher.js';
import type { CycleResult, Watcher } from '../loop/watcher.js';
import { POLL_MODES, type PollMode } from '../loop/poll-mode.js';

/** Where the metrics read from: the live watcher, the dispatcher's counts, the store. */
export interface MetricsSources {
  watcher: Watcher;
  /** The RunPod API in use. */
  api: { readonly source: ApiSource };
  deliveries: DeliveryStats;
  store: Store;
  /** The polling mode, and the request limiter's cap and counts. */
  pacer: { readonly mode: PollMode };
  limiter: { readonly cap: number; readonly counts: { read: number; mutation: number } };
  /**
   * The running config's rules and alerts by name, so each has a series (at 0) before anything
   * happens to it; asked at each scrape, so a reloaded config's names show.
   */
  names: () => { rules: readonly string[]; alerts: readonly string[] };
}

/**
 * The Prometheus metrics: ours prefixed `gpuwatch_`, prom-client's process and Node.js ones under
 * their standard names (so stock Node.js dashboards work). Counters the watcher already keeps are
 * read at scrape time (collect) rather than counted twice; the poll duration histogram is fed per cycle.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly pollDuration: Histogram;
  private readonly attemptErrors: Counter<'operation' | 'kind'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const { watcher, deliveries, store, api, pacer, limiter, names } = sources;

    new Counter({
      name: 'gpuwatch_polls_total',
      help: 'Polls by outcome (ok; partial: some keys dropped; failed: no answer, or no usable key in it)',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        for (const [outcome, n] of Object.entries(watcher.stats.polls)) this.inc({ outcome }, n);
      },
    });
    this.pollDuration = new Histogram({
      name: 'gpuwatch_poll_duration_seconds',
      help: 'Time from sending the snapshot request to having its answer',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Counter({
      name: 'gpuwatch_api_errors_total',
      help: 'Failed polls by RunPod error class',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(watcher.stats.apiErrors)) this.inc({ kind }, n);
      },
    });
    this.attemptErrors = new Counter({
      name: 'gpuwatch_api_attempt_errors_total',
      help: 'Failed RunPod requests by operation and error class: every attempt, retries included, of every call (polls, pod list, deploys, resumes)',
      labelNames: ['operation', 'kind'],
      registers,
    });
    new Counter({
      name: 'gpuwatch_dropped_entries_total',
      help: 'Keys dropped from a snapshot, by reason (unknown_gpu, malformed, error, unsupported)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(watcher.stats.dropped)) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: 'gpuwatch_cycle_errors_total',
      help: 'Cycles that failed since start: the cycle threw (the database, say), or its rules did (the poll was still recorded)',
      registers,
      collect() {
        this.reset();
        this.inc(watcher.stats.cycleErrors);
      },
    });
    new Counter({
      name: 'gpuwatch_skipped_ticks_total',
      help: 'Schedule ticks skipped because the previous cycle was still running',
      registers,
      collect() {
        this.reset();
        this.inc(watcher.stats.skippedTicks);
      },
    });
    const perKey = (name: string, help: string, value: (o: NonNullable<Watcher['lastSnapshot']>['offers'][number]) => number | null): void => {
      new Gauge({
        name,
        help,
        // `filters`: a rule's machine filters in canonical form (`cuda=12.8;dc=EU-RO-1`); left out for the
        // type's whole stock, so its series are the same as before filters existed.
        labelNames: ['gpu', 'gpu_count', 'cloud', 'filters'],
        registers,
        collect() {
          this.reset();
          for (const offer of watcher.lastSnapshot?.offers ?? []) {
            const v = value(offer);
            const { gpuTypeId, gpuCount, cloud, filters } = offer.key;
            if (v !== null) this.set({ gpu: gpuTypeId, gpu_count: String(gpuCount), cloud, ...(filters ? { filters: filtersId(filters) } : {}) }, v);
          }
        },
      });
    };
    perKey('gpuwatch_gpu_stock_level', 'Stock at the last poll: 0 None, 1 Low, 2 Medium, 3 High', (o) => stockRank(o.stock));
    perKey('gpuwatch_gpu_on_demand_price_dollars', 'On-demand $/GPU/hr at the last poll', (o) => o.onDemandPrice);
    perKey('gpuwatch_gpu_min_bid_price_dollars', 'Spot minimum bid $/GPU/hr at the last poll', (o) => o.minBidPrice);
    perKey('gpuwatch_gpu_rented_gpus', "GPUs of the fleet rented at the last poll (RunPod's rentedCount; GraphQL only)", (o) => o.fleet?.rentedCount ?? null);
    perKey('gpuwatch_gpu_fleet_gpus', "GPUs in the fleet behind the offer at the last poll (RunPod's totalCount; GraphQL only)", (o) => o.fleet?.totalCount ?? null);
    perKey('gpuwatch_gpu_rental_percentage', "RunPod's rentalPercentage at the last poll, as RunPod gives it (GraphQL only)", (o) => o.fleet?.rentalPercentage ?? null);
    new Gauge({
      name: 'gpuwatch_api_source',
      help: 'The RunPod API in use: 1 for it (graphql or rest), 0 for the other',
      labelNames: ['source'],
      registers,
      collect() {
        for (const source of ['graphql', 'rest'] as const) this.set({ source }, api.source === source ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gpuwatch_poll_mode',
      help: 'The polling mode: 1 for the one in use (base: the schedule; hungry: a rule waits for stock; idle: nothing can act), 0 for the others',
      labelNames: ['mode'],
      registers,
      collect() {
        for (const mode of POLL_MODES) this.set({ mode }, pacer.mode === mode ? 1 : 0);
      },
    });
    new Counter({
      name: 'gpuwatch_runpod_requests_total',
      help: 'Requests sent to RunPod through the request limiter, every client and attempt, by kind (read, mutation)',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(limiter.counts)) this.inc({ kind }, n);
      },
    });
    new Gauge({
      name: 'gpuwatch_runpod_request_cap_per_minute',
      help: 'Requests to RunPod allowed in any 60 s: api.maxRequestsPerMinute, or the quota RunPod announces when lower',
      registers,
      collect() {
        this.set(limiter.cap);
      },
    });
    new Gauge({
      name: 'gpuwatch_last_successful_poll_timestamp_seconds',
      help: 'When a poll last got an answer (unix seconds)',
      registers,
      collect() {
        this.reset();
        if (watcher.stats.lastSuccessAt !== null) this.set(watcher.stats.lastSuccessAt / 1000);
      },
    });
    new Counter({
      name: 'gpuwatch_deploys_total',
      help: 'Deploys and resumes (in a dry run, decided) that reached each status since start, by rule, kind and status',
      labelNames: ['rule', 'kind', 'status'],
      registers,
      collect() {
        this.reset();
        for (const row of store.journal.transitions()) this.inc({ rule: row.rule, kind: row.kind, status: row.status }, row.n);
      },
    });
    /** The watcher's live pods as of the last cycle that read the pod list, per rule or resume entry. */
    const livePods = (each: (rule: string, costPerHr: number) => void): void => {
      for (const pod of store.daemon.rulesLastCycle.get()?.livePods ?? []) if (pod.watcher) each(pod.watcher.rule, pod.costPerHr);
    };
    new Gauge({
      name: 'gpuwatch_watcher_pods',
      help: "The watcher's live pods (running or starting) at the last cycle, by rule or resume entry",
      labelNames: ['rule'],
      registers,
      collect() {
        this.reset();
        for (const rule of names().rules) this.set({ rule }, 0);
        livePods((rule) => this.inc({ rule }));
      },
    });
    new Gauge({
      name: 'gpuwatch_watcher_pods_cost_per_hour_dollars',
      help: "What the watcher's live pods cost now, $/hr (RunPod's costPerHr, summed), by rule or resume entry",
      labelNames: ['rule'],
      registers,
      collect() {
        this.reset();
        for (const rule of names().rules) this.set({ rule }, 0);
        livePods((rule, costPerHr) => this.inc({ rule }, costPerHr));
      },
    });
    new Gauge({
      name: 'gpuwatch_alert_firing',
      help: 'Each configured alert: 1 while it fires, 0 otherwise',
      labelNames: ['alert'],
      registers,
      collect() {
        this.reset();
        const states = store.states('alert');
        for (const alert of names().alerts) this.set({ alert }, states.get(alert)?.firing ? 1 : 0);
      },
    });
    new Counter({
      name: 'gpuwatch_spend_dollars_total',
      help: "Dollars the watcher's pods have cost so far (costPerHr x time billed, from the pod list), by rule or resume entry",
      labelNames: ['rule'],
      registers,
      collect() {
        this.reset();
        for (const row of store.spend.byRule()) this.inc({ rule: row.rule }, row.dollars);
      },
    });
    new Counter({
      name: 'gpuwatch_notifications_total',
      help: 'Deliveries by notifier and result (delivered, retried, failed) since start',
      labelNames: ['notifier', 'result'],
      registers,
      collect() {
        this.reset();
        for (const [notifier, counts] of deliveries) for (const [result, n] of Object.entries(counts)) this.inc({ notifier, result }, n);
      },
    });
    new Gauge({
      name: 'gpuwatch_outbox_depth',
      help: 'Deliveries waiting (pending) or given up (failed) in the outbox',
      labelNames: ['state'],
      registers,
      collect() {
        const depth = store.outbox.depth();
        this.set({ state: 'pending' }, depth.pending);
        this.set({ state: 'failed' }, depth.failed);
      },
    });
  }

  /** Counts one failed RunPod request; the client reports each attempt, so a retried failure counts too. */
  observeApiError(error: RunpodError): void {
    this.attemptErrors.inc({ operation: error.operation, kind: error.kind });
  }

  /** Feeds one finished cycle into the duration histogram. */
  observeCycle(result: CycleResult): void {
    this.pollDuration.observe(result.durationMs / 1000);
  }
}
