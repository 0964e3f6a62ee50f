import type { RunpodErrorKind } from '../runpod/errors.js';
import type { Cloud, DropReason, Pod, Snapshot, StockLevel } from '../runpod/types.js';
import type { ApiSource } from '../runpod/switching.js';
import { isoTime as iso } from '../lib/format.js';
import type { WatcherEvent } from '../events/event.js';
import type { PollOutcome } from '../store/history.js';
import type { StoreReader } from '../store/store.js';
import type { RunningConfig } from '../store/repositories.js';

/**
 * The status document: one answer to "what is the watcher doing", the same for `gpu-watcher status
 * --json`, `/api/status` and the dashboard. Times are ISO 8601 strings (null where unknown).
 *
 *   now           when the document was built
 *   lastPoll      the last recorded poll, null before the first: its outcome and time, since when
 *                 and for how many polls in a row the outcome has been the same, and its error
 *   api           RunPod's health as the watcher last judged it: the API in use (source: graphql or
 *                 rest), down or not, since when, and how many polls in a row failed
 *   rules[]       each configured rule: successful deploys so far (of maxDeploys), its live pods (of
 *                 maxPods), what it did at the last cycle (deployed, resting, exhausted, over
 *                 budget, failed) and why, why it is blocked (RunPod refused its request as invalid;
 *                 it rests until its config changes), and the candidates RunPod refused that it
 *                 skips until their retryAfter ends
 *   alerts[]      each configured alert: firing or not, and when it fired
 *   livePods      the watcher's live pods (those it deployed, and the resume entries' pods) as of
 *                 the last rules cycle, null before one
 *   undelivered   how many deliveries are pending and how many were given up, and the newest of them
 *   recentEvents  the latest events, newest first, each as its webhook body
 *   live          what only a running daemon knows (/api/status), null from the CLI: whether it is
 *                 a dry run, whether RunPod accepts its key, the last snapshot's offers, and its
 *                 counters since it started
 *
 * Everything but `live` is read from the store, which is the source of truth for both: the CLI
 * reads the database beside the daemon and gets the same answer the daemon gives over HTTP.
 */
export interface StatusDocument {
  now: string;
  lastPoll: { outcome: PollOutcome; at: string | null; sameOutcomeSince: string | null; polls: number; error: string | null } | null;
  api: { source: ApiSource; down: boolean; downSince: string | null; failuresInARow: number };
  rules: RuleStatus[];
  alerts: { name: string; firing: boolean; firedAt: string | null }[];
  livePods: { asOf: string | null; pods: Pod[] } | null;
  undelivered: { pending: number; failed: number; newest: UndeliveredStatus[] };
  recentEvents: WatcherEvent[];
  live: LiveStatus | null;
}

/** What the status reads of a config: the daemon's own, or the part of it the store keeps (`RunningConfig`). */
type StatusConfig = Pick<RunningConfig, 'alerts' | 'api'> & { rules: { name: string; maxPods: number; maxDeploys?: number | null | undefined }[] };

/** One rule in the status document. */
interface RuleStatus {
  name: string;
  deploys: number;
  maxDeploys: number | null;
  pods: number;
  maxPods: number;
  last: { at: string | null; outcome: string; detail: string } | null;
  blocked: string | null;
  waitingOutRetryAfter: { gpu: string; until: string | null }[];
}

/** One delivery not (yet) made; `nextAttemptAt` is null once it was given up. */
interface UndeliveredStatus {
  type: string;
  time: string | null;
  notifier: string;
  status: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

/** What only a running daemon knows. */
interface LiveStatus {
  dryRun: boolean;
  keyAccepted: boolean;
  snapshot: { gpu: string; gpuCount: number; cloud: Cloud; displayName: string | null; stock: StockLevel; onDemandPrice: number | null; minBidPrice: number | null; availableGpuCounts: number[] | null }[];
  counters: LiveCounters;
}

/** The running loop's counters since it started. */
interface LiveCounters {
  polls: Record<PollOutcome, number>;
  skippedTicks: number;
  apiErrors: Record<RunpodErrorKind, number>;
  dropped: Record<DropReason, number>;
}

/** The in-memory parts of a running daemon that the status shows; the watch loop has them. */
interface LiveDaemon {
  /** The API the daemon calls now (a fallback while GraphQL fails is known only here). */
  apiSource: ApiSource;
  dryRun: boolean;
  keyAccepted: boolean;
  watcher: { stats: LiveCounters; lastSnapshot: Snapshot | undefined };
}

const RECENT_EVENTS = 20;
const NEWEST_UNDELIVERED = 10;

/** Builds the status document from the store, the config's rules and alerts, and (inside the daemon) its live parts. */
export function buildStatus(sources: { store: StoreReader; config: StatusConfig; now: number; live?: LiveDaemon }): StatusDocument {
  const { store, config, now } = sources;
  const ruleStates = store.states('rule');
  const alertStates = store.states('alert');
  const lastCycle = store.daemon.rulesLastCycle.get();
  const health = store.daemon.apiHealth.get();
  const lastRun = store.history.lastPollRun();
  return {
    now: new Date(now).toISOString(),
    lastPoll: lastRun ? { outcome: lastRun.outcome, at: iso(lastRun.lastAt), sameOutcomeSince: iso(lastRun.firstAt), polls: lastRun.polls, error: lastRun.error } : null,
    api: { source: sources.live?.apiSource ?? storedSource(store, config), down: health !== undefined && health.downSince !== null, downSince: iso(health?.downSince), failuresInARow: health?.failures ?? 0 },
    rules: config.rules.map((rule): RuleStatus => {
      const state = ruleStates.get(rule.name);
      const report = lastCycle?.reports.find((r) => r.rule === rule.name);
      return {
        name: rule.name,
        deploys: store.journal.succeededCount(rule.name),
        maxDeploys: rule.maxDeploys ?? null,
        pods: lastCycle?.livePods.filter((p) => p.watcher?.rule === rule.name).length ?? 0,
        maxPods: rule.maxPods,
        last: report ? { at: iso(report.at), outcome: report.outcome, detail: report.detail } : null,
        blocked: state?.blocked?.reason ?? null,
        waitingOutRetryAfter: Object.entries(state?.retryUntil ?? {})
          .filter(([, until]) => until > now)
          .map(([gpu, until]) => ({ gpu, until: iso(until) })),
      };
    }),
    alerts: config.alerts.map((alert) => {
      const state = alertStates.get(alert.name);
      return { name: alert.name, firing: state?.firing ?? false, firedAt: iso(state?.firedAt) };
    }),
    livePods: lastCycle ? { asOf: iso(lastCycle.at), pods: lastCycle.livePods } : null,
    undelivered: {
      ...store.outbox.depth(),
      newest: store.outbox.undelivered(NEWEST_UNDELIVERED).map((d) => ({ ...d, time: iso(d.time), nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null })),
    },
    recentEvents: store.outbox.recent(RECENT_EVENTS),
    live: sources.live ? liveStatus(sources.live) : null,
  };
}

/** The API a daemon on this database uses, as far as the store tells: v2 when set so or switched for good. */
function storedSource(store: StoreReader, config: Pick<StatusConfig, 'api'>): ApiSource {
  return config.api.source === 'rest' || (config.api.source === 'auto' && store.daemon.apiSwitched.get() !== undefined) ? 'rest' : 'graphql';
}

function liveStatus({ dryRun, keyAccepted, watcher }: LiveDaemon): LiveStatus {
  const { polls, skippedTicks, apiErrors, dropped } = watcher.stats;
  return {
    dryRun,
    keyAccepted,
    snapshot: (watcher.lastSnapshot?.offers ?? []).map((o) => ({
      gpu: o.key.gpuTypeId,
      gpuCount: o.key.gpuCount,
      cloud: o.key.cloud,
      displayName: o.displayName,
      stock: o.stock,
      onDemandPrice: o.onDemandPrice,
      minBidPrice: o.minBidPrice,
      availableGpuCounts: o.availableGpuCounts,
    })),
    counters: { polls, skippedTicks, apiErrors, dropped },
  };
}
