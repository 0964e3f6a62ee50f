import type { SpotRetirement } from '../runpod/spot.js';
import type { GpuOffer, Pod, WatchKey } from '../runpod/types.js';
import type { WatcherEvent } from '../events/event.js';
import type { EventRoute } from '../config/routing.js';
import type { DeployCount, DeployRecord, DeployStatus } from './deploy-journal.js';
import type { DataCenterInterval } from './dc-history.js';
import type { FleetInterval } from './fleet-history.js';
import type { HistoryInterval, PollRecord, PollRun, StateChange } from './history.js';
import type { DueDelivery, OutboxDepth, UndeliveredDelivery } from './outbox.js';

// The repositories the store hands out, as interfaces a second engine can implement: nothing here
// names SQLite. They are synchronous, as better-sqlite3 is; every write of one call is atomic.

/** The market history: each poll as change intervals and poll runs, and the queries over them. */
export interface HistoryRepository {
  /**
   * Records one poll atomically, with `alsoWrite` (the cycle's other writes: events, state) in the
   * same transaction; returns the keys whose state changed since the previous poll.
   */
  recordPoll(poll: PollRecord, offers: readonly GpuOffer[], alsoWrite?: () => void): StateChange[];
  /** Intervals overlapping [since, until], for one GPU type or all, ordered by key then time. */
  intervals(query: { gpuTypeId?: string | undefined; since: number; until?: number }): HistoryInterval[];
  /** The keys with recorded history, for one GPU type or all, ordered by GPU type, count, cloud. */
  keys(gpuTypeId?: string): WatchKey[];
  /** One key's intervals overlapping [since, until], oldest first (the insights read a key at a time). */
  intervalsOfKey(key: WatchKey, since: number, until: number): HistoryInterval[];
  /**
   * Per-data-center stock intervals (only offers that name data centers: REST v2) overlapping
   * [since, until], for one GPU type or all, ordered by key, data center, then time.
   */
  dataCenterIntervals(query: { gpuTypeId?: string | undefined; since: number; until?: number }): DataCenterInterval[];
  /** Fleet intervals (GraphQL's rented and total GPUs, as banded ranges), by key then time. */
  fleetIntervals(query: { gpuTypeId?: string | undefined; since: number; until?: number }): FleetInterval[];
  /** Poll runs that ended at or after `since`, oldest first. */
  pollRuns(since: number): PollRun[];
  /** The most recent poll run, if any poll was ever recorded. */
  lastPollRun(): PollRun | undefined;
  /** Deletes up to `limit` intervals (data centers' too) and poll runs that ended before `cutoff`; returns how many. */
  prune(cutoff: number, limit: number): number;
}

/** The deploy journal: a deploy is written before it is sent and completed after its answer. */
export interface JournalRepository {
  /**
   * Journals a deploy as pending, committed before this returns; throws, writing nothing, when this
   * process no longer holds the lease or cannot get the write lock (the caller then sends nothing).
   */
  begin(record: Pick<DeployRecord, 'id' | 'rule' | 'gpuTypeId' | 'gpuCount' | 'cloud' | 'kind' | 'price' | 'dryRun' | 'createdAt'> & { podId?: string }): void;
  /** Records how a journaled deploy ended. */
  complete(id: string, status: Exclude<DeployStatus, 'pending'>, now: number, fields?: { podId?: string; error?: string }): void;
  /** Real deploys whose outcome is not known yet, oldest first. */
  unresolved(): DeployRecord[];
  /** Successful real deploys of a rule over its life (what maxDeploys counts). */
  succeededCount(rule: string): number;
  /** How many entries reached each status since the store was opened, by rule and kind (a counter: it never goes down). */
  transitions(): DeployCount[];
  /** The latest entries, newest first. */
  recent(limit: number): DeployRecord[];
}

/** What the watcher does to a pod at the end of its life: stop it (its disk kept) or terminate it. */
export type LifecycleAction = 'stop' | 'terminate';
/** Why: not ready within `startTimeout` (or ERROR), past its `ttl`, or idle for `idle.for`. */
export type LifecycleReason = 'start_timeout' | 'expired' | 'idle';

/** A pod the watcher starts following, just after the deploy or resume that made it. */
export interface LifecycleStart {
  podId: string;
  /** The pod as events carry it, kept so that an event after a crash still names it. */
  pod: { id: string; name: string; kind: 'on-demand' | 'spot'; costPerHr: number };
  rule: string;
  deployId: string;
  configHash: string;
  gpuTypeId: string;
  startedAt: number;
  /** Null for a resume entry's pod: only rules have a start timeout. */
  startTimeoutMs?: number | null;
  expiresAt?: number | null;
}

/** A followed pod: how far its life has come, and the one lifecycle action taken on it, if any. */
export interface LifecycleRecord extends Required<LifecycleStart> {
  readyAt: number | null;
  expiryWarned: boolean;
  /** When its GPUs were first seen below the idle threshold since they were last seen busy. */
  idleSince: number | null;
  idleWarned: boolean;
  /** The last utilisation sample (the busiest GPU's percent) and when it was taken. */
  utilAt: number | null;
  util: number | null;
  action: LifecycleAction | null;
  actionReason: LifecycleReason | null;
  actionStatus: 'pending' | 'done' | 'failed' | null;
  actionAt: number | null;
  endedAt: number | null;
}

/** The pods followed after their deploy, and the lifecycle actions journaled on them. */
export interface LifecycleRepository {
  /** Starts following a pod (again, from scratch, when it is resumed). */
  track(start: LifecycleStart): void;
  /** The pods still followed, oldest first. */
  open(): LifecycleRecord[];
  get(podId: string): LifecycleRecord | undefined;
  /** Records what was seen of a followed pod. */
  note(podId: string, fields: Partial<Pick<LifecycleRecord, 'readyAt' | 'expiryWarned' | 'idleSince' | 'idleWarned' | 'utilAt' | 'util' | 'endedAt'>>): void;
  /** Journals an action as pending, committed before this returns; throws, writing nothing, without the lease. */
  beginAction(podId: string, action: LifecycleAction, reason: LifecycleReason, now: number): void;
  /** Records how the action ended; `done` also ends the following. */
  completeAction(podId: string, status: 'done' | 'failed', now: number): void;
  /** The rule's pods it ended itself for their ttl or idleness, under this config (what `afterEnd: rest` waits on). */
  endedBy(rule: string, configHash: string): LifecycleRecord[];
}

/** The event outbox: every event with one delivery per notifier, kept until each is made or given up. */
export interface OutboxRepository {
  /** Stores an event and a pending delivery to each named notifier, atomically. */
  append(event: WatcherEvent, notifiers: readonly string[]): void;
  /** Calls `listener` after each append that has deliveries (the dispatcher wakes on it). */
  onAppend(listener: () => void): void;
  /** Routes the events appended from now on by a reloaded config's notifiers (`events`, `minSeverity`). */
  reroute(route: EventRoute): void;
  /** The latest events, newest first. */
  recent(limit: number): WatcherEvent[];
  /**
   * Deletes up to `limit` events older than `cutoff` whose deliveries are all settled (delivered or
   * given up), with those deliveries; an event still pending for a notifier is kept. Returns how many events.
   */
  prune(cutoff: number, limit: number): number;
  /** Each notifier with pending deliveries, and when the first of them falls due. */
  nextDueByNotifier(): { notifier: string; at: number }[];
  /** Holds every pending delivery to `notifier` until `until` at least. */
  hold(notifier: string, until: number): void;
  /** A notifier's deliveries due at `now`, oldest event first. */
  due(notifier: string, now: number, limit: number): DueDelivery[];
  /** When the next pending delivery falls due, if any is pending. */
  nextDueAt(): number | undefined;
  /** Records a delivery the receiver accepted. */
  delivered(eventId: string, notifier: string, httpStatus: number): void;
  /** Records a failed attempt: tried again at `retryAt`, or given up for good when it is undefined. */
  failed(eventId: string, notifier: string, httpStatus: number | undefined, error: string, retryAt: number | undefined): void;
  /** The newest deliveries not (yet) made: pending ones and those given up. */
  undelivered(limit: number): UndeliveredDelivery[];
  /** How many deliveries are pending and how many were given up. */
  depth(): OutboxDepth;
}

/**
 * One pod's spend account: whose it is (the rule that deployed it, or the resume entry), its
 * $/hr and whether it was billed when last seen, the time it is accounted up to, its dollars so far.
 */
export interface PodAccount {
  podId: string;
  rule: string;
  costPerHr: number;
  billed: boolean;
  seenAt: number;
  dollars: number;
}

/** What the watcher's pods have cost: each pod's account, and the dollars by UTC day and rule. */
export interface SpendRepository {
  /** The accounts of the pods named (all of them when none are), by pod id. */
  accounts(podIds?: readonly string[]): PodAccount[];
  /** Writes the accounts and adds the dollars to their days, atomically (`day` is UTC `YYYY-MM-DD`). */
  record(accounts: readonly PodAccount[], added: readonly { day: string; rule: string; dollars: number }[]): void;
  /** Dollars so far per rule (or resume entry), by name. */
  byRule(): { rule: string; dollars: number }[];
  /** Dollars across every rule on the UTC days from `fromDay` to `toDay`, both included. */
  total(fromDay: string, toDay: string): number;
}

/** Who holds a database's lease. Times are unix ms. */
export interface LeaseHolder {
  host: string;
  pid: number;
  processStartedAt: number;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
}

/** A process as a lease holder: where it runs, and a token of its own. */
export interface LeaseIdentity {
  host: string;
  pid: number;
  processStartedAt: number;
  token: string;
}

/** Why a lease held by another may be taken over now. */
export type TakeoverReason = 'gone' | 'expired';

/** The outcome of trying to take the lease. */
export type Acquired =
  | { acquired: true; tookOver?: { holder: LeaseHolder; reason: TakeoverReason } }
  | { acquired: false; holder: LeaseHolder };

/** The outcome of renewing the lease. */
export type Renewed = { held: true } | { held: false; holder: LeaseHolder };

/** Which process may act on the database: at most one holds its lease. */
export interface LeaseRepository {
  /** This process, as a holder. */
  readonly identity: LeaseIdentity;
  /** The current holder, this process included; undefined when nobody holds the lease. */
  holder(): LeaseHolder | undefined;
  /** Takes the lease when nobody holds it, this process does, or its holder may be taken over. */
  tryAcquire(now: number, ttlMs: number): Acquired;
  /** Extends the lease this process holds, or says who took it over. */
  renew(now: number, ttlMs: number): Renewed;
  /** Throws LeaseHeldError once this process has taken the lease and no longer holds it. */
  assertHeld(): void;
  /** Gives the lease up, if this process still holds it. */
  release(): void;
}

/** What the rules engine remembers of a rule between cycles. */
export interface RuleState {
  /** Candidate GPU type → time (ms) until which it is skipped after RunPod refused it. */
  retryUntil: Record<string, number>;
  /**
   * Why each candidate could not be deployed when `rule.exhausted` was last told, or null when it
   * has not been told for the current stretch of nothing deployable. It is told again when this
   * set changes.
   */
  exhausted: ExhaustionReasons | null;
  /** `budget.blocked` has been told for the current stretch of being over budget. */
  budgetTold: boolean;
  /** RunPod refused the rule's request as invalid: it rests until its config changes. */
  blocked: { reason: string; configHash: string } | null;
}

/**
 * Why a candidate could not be deployed, as a kind, never with prices or times: the set of these
 * decides whether `rule.exhausted` is told again, so a price moving by a cent does not repeat it.
 * A candidate RunPod refused and one waiting out its retryAfter window are both `refused`.
 */
type ExhaustionReason = 'no data' | 'stock' | 'count' | 'price' | 'budget' | 'refused';

/** Candidate GPU type → why it could not be deployed. */
export type ExhaustionReasons = Record<string, ExhaustionReason>;

/** What the rules engine remembers of a resume entry between cycles. */
export interface ResumeState {
  /** Until when the entry waits after RunPod refused to resume its pod. */
  retryUntil: number;
  /** The missing pod has been logged (once per stretch of it missing). */
  missingTold: boolean;
  /** `budget.blocked` has been told for the current stretch of being over budget. */
  budgetTold: boolean;
}

/** What the watcher remembers of an alert between polls, so a restart neither re-fires nor forgets. */
export interface AlertState {
  firing: boolean;
  /** Consecutive polls that disagreed with `firing`. */
  streak: number;
  firedAt: number | null;
  lastToldAt: number | null;
}

/**
 * The shape each owner's named state is kept in, by kind: rules, resume entries and alerts each
 * have their own table. The store keeps them as JSON; their owners fill them, and status reads them.
 */
export interface StateRecords {
  rule: RuleState;
  resume: ResumeState;
  alert: AlertState;
}

/** Which owner's state a named state table keeps. */
export type StateKind = keyof StateRecords;

/** JSON state kept by name across restarts. */
export interface NamedState<T> {
  get(name: string): T | undefined;
  set(name: string, state: T, now: number): void;
}

/** One fact the daemon keeps across restarts. */
export interface Fact<T> {
  get(): T | undefined;
  set(value: T, now: number): void;
}

/** Whether RunPod is answering, as the watcher last judged it. */
export interface ApiHealth {
  /** Failed polls in a row. */
  failures: number;
  /** Set once enough polls in a row failed to count RunPod as down; cleared by the next good poll. */
  downSince: number | null;
}

/** When RunPod first answered that the API the watcher uses is retired, and what it said. */
interface ApiRetirement {
  at: number;
  detail: string;
}

/** When RunPod first refused a deploy for want of funds, and what it said. */
interface PaymentRefusal {
  at: number;
  detail: string;
}

/** What a rule did at the last cycle: deployed, rested (and why), or found nothing. */
export interface RuleReport {
  rule: string;
  at: number;
  outcome: 'deployed' | 'resting' | 'exhausted' | 'over budget' | 'failed';
  detail: string;
}

/** The rules' last cycle: each rule's report, and the watcher's live pods as of that cycle. */
interface LastCycle {
  at: number;
  reports: RuleReport[];
  livePods: Pod[];
}

/**
 * What `status` needs of the config the daemon runs on, kept at start and at each reload, so
 * `gpu-watcher status --db FILE` reports that daemon's rules and alerts whatever config file is
 * beside it.
 */
export interface RunningConfig {
  rules: { name: string; maxPods: number; maxDeploys: number | null }[];
  alerts: { name: string }[];
  api: { source: 'auto' | 'graphql' | 'rest' };
  /** `budget.maxSpend`, for the spend line (absent: not set, or kept by a daemon from before it). */
  budget?: { maxSpend?: { day?: number | undefined; month?: number | undefined } | undefined } | undefined;
  /** Time between two polls (the schedule's period; with `poll.idle`, the longest gap idling allows): `status` calls the last poll stale after three. */
  periodMs: number;
}

/** The named facts the daemon keeps across restarts, each with the shape it is kept in. */
export interface DaemonState {
  /** RunPod's health, so a restart neither forgets an outage nor tells it twice. */
  apiHealth: Fact<ApiHealth>;
  /** Set once `api.retired` was told: it is told once per database. */
  apiRetired: Fact<ApiRetirement>;
  /** Set once `api.source: auto` moved to REST v2 for good (and `api.switched` was told): it stays there after a restart. */
  apiSwitched: Fact<ApiRetirement>;
  /** Spot's retirement; null once spot is back. */
  spotRetired: Fact<SpotRetirement | null>;
  /** Set when `account.payment_required` was told (RunPod's 402); null again once a deploy went through. */
  paymentRequired: Fact<PaymentRefusal | null>;
  /** The rules' last cycle, for `status` beside a running daemon. */
  rulesLastCycle: Fact<LastCycle>;
  /** The keys the resume entries need watched, learned from the pod list. */
  resumeKeys: Fact<WatchKey[]>;
  /** Each network volume's data center as last read from the account, so `replay` sees the keys the daemon watched. */
  volumeDataCenters: Fact<Record<string, string>>;
  /** The polling mode the daemon is in (base, hungry, idle) and since when, for `status`. */
  pollMode: Fact<PollModeFact>;
  /** The running daemon's rules, alerts and schedule, as `status` shows them. */
  runningConfig: Fact<RunningConfig>;
}

/** The polling mode as kept for `status`: the mode and when it began. */
export interface PollModeFact {
  mode: 'base' | 'hungry' | 'idle';
  since: number;
}
