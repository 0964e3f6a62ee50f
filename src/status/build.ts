import type { RunpodErrorKind } from '../runpod/errors.js';
import { describeFilters, type Cloud, type DropReason, type FleetFigures, type Pod, type Snapshot, type StockLevel } from '../runpod/types.js';
import type { ApiSource } from '../runpod/switching.js';
import { isoTime as iso } from '../lib/format.js';
import type { WatcherEvent } from '../events/event.js';
import type { PollOutcome } from '../store/history.js';
import { spentSoFar } from '../store/spend.js';
import type { StoreReader } from '../store/store.js';
import type { PollModeFact, RunningConfig } from '../store/repositories.js';

/**
 * The status document: one answer to "what is the watcher doing", the same for `gpu-watcher status
 * --json`, `/api/status` and the dashboard. Times are ISO 8601 strings (null where unknown).
 *
 *   now           when the document was built
 *   lastPoll      the last recorded poll, null before the first: its outcome and time, since when
 *                 and for how many polls in a row the outcome has been the same, and its error
 *   api           RunPod's health as the watcher last judged it: the API in use (source: graphql or
 *                 rest), down or not, since when, and how many polls in a row failed
 *   polling       the polling mode (base: the schedule; hungry: a rule waits for stock, poll.hungry;
 *                 idle: nothing can act and no alert is pending, poll.idle) and since when; null
 *                 before a daemon first ran on this database
 *   rules[]       each configured rule: successful deploys so far (of maxDeploys), its live pods (of
 *                 maxPods), what it did at the last cycle (deployed, resting, exhausted, over
 *                 budget, failed) and why, why it is blocked (RunPod refused its request as invalid;
 *                 it rests until its config changes), and the candidates RunPod refused that it
 *                 skips until their retryAfter ends, and the dollars its pods have cost so far
 *   spend         what the watcher's pods have cost (costPerHr x time billed, from the pod list):
 *                 today and this month (UTC days), in total, per rule or resume entry, each pod,
 *                 and budget.maxSpend's limits (null when not set)
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
  polling: { mode: PollModeFact['mode']; since: string | null } | null;
  rules: RuleStatus[];
  spend: SpendStatus;
  alerts: { name: string; firing: boolean; firedAt: string | null }[];
  livePods: { asOf: string | null; pods: Pod[] } | null;
  undelivered: { pending: number; failed: number; newest: UndeliveredStatus[] };
  recentEvents: WatcherEvent[];
  live: LiveStatus | null;
}

/** What the status reads of a config: the daemon's own, or the part of it the store keeps (`RunningConfig`). */
type StatusConfig = Pick<RunningConfig, 'alerts' | 'api' | 'budget'> & { rules: { name: string; maxPods: number; maxDeploys?: number | null | undefined }[] };

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
  spent: number;
}

/** What the watcher's pods have cost, in dollars. */
interface SpendStatus {
  today: number;
  thisMonth: number;
  total: number;
  maxSpend: { day: number | null; month: number | null } | null;
  byRule: { rule: string; dollars: number }[];
  pods: { podId: string; rule: string; dollars: number; billed: boolean; accountedUpTo: string | null }[];
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
  snapshot: {
    gpu: string;
    gpuCount: number;
    cloud: Cloud;
    /** The machine filters of the key, in words ('' for none). */
    machine: string;
    displayName: string | null;
    stock: StockLevel;
    onDemandPrice: number | null;
    minBidPrice: number | null;
    availableGpuCounts: number[] | null;
    /** RunPod's fleet figures, null when it gave none (always under REST v2). */
    fleet: FleetFigures | null;
  }[];
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
  const byRule = store.spend.byRule();
  return {
    now: new Date(now).toISOString(),
    lastPoll: lastRun ? { outcome: lastRun.outcome, at: iso(lastRun.lastAt), sameOutcomeSince: iso(lastRun.firstAt), polls: lastRun.polls, error: lastRun.error } : null,
    api: { source: sources.live?.apiSource ?? storedSource(store, config), down: health !== undefined && health.downSince !== null, downSince: iso(health?.downSince), failuresInARow: health?.failures ?? 0 },
    polling: pollingStatus(store.daemon.pollMode.get()),
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
        spent: byRule.find((r) => r.rule === rule.name)?.dollars ?? 0,
      };
    }),
    spend: spendStatus(store, config, byRule, now),
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

function pollingStatus(fact: PollModeFact | undefined): StatusDocument['polling'] {
  return fact ? { mode: fact.mode, since: iso(fact.since) } : null;
}

function spendStatus(store: StoreReader, config: Pick<StatusConfig, 'budget'>, byRule: SpendStatus['byRule'], now: number): SpendStatus {
  const spent = spentSoFar(store.spend, now);
  const limits = config.budget?.maxSpend;
  return {
    today: spent.day,
    thisMonth: spent.month,
    total: byRule.reduce((sum, r) => sum + r.dollars, 0),
    maxSpend: limits ? { day: limits.day ?? null, month: limits.month ?? null } : null,
    byRule,
    pods: store.spend.accounts().map((a) => ({ podId: a.podId, rule: a.rule, dollars: a.dollars, billed: a.billed, accountedUpTo: iso(a.seenAt) })),
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
      // A rule's machine filters as people read them (`CUDA 12.8 · EU-RO-1`), '' for the type's whole stock.
      machine: describeFilters(o.key.filters).replace(/^ · /, ''),
      displayName: o.displayName,
      stock: o.stock,
      onDemandPrice: o.onDemandPrice,
      minBidPrice: o.minBidPrice,
      availableGpuCounts: o.availableGpuCounts,
      fleet: o.fleet ?? null,
    })),
    counters: { polls, skippedTicks, apiErrors, dropped },
  };
}
