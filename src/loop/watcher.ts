import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { RUNPOD_ERROR_KINDS, RunpodError, type RunpodErrorKind } from '../runpod/errors.js';
import { keyId, type DropReason, type Pod, type PodsAnswer, type RunpodApi, type Snapshot, type WatchKey } from '../runpod/types.js';
import type { AuthGate } from './auth-gate.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PollOutcome, PollRecord, StateChange } from '../store/history.js';
import type { Store } from '../store/store.js';
import type { ApiHealth } from '../store/repositories.js';
import { HEALTHY, healthEvent, nextHealth } from './api-health.js';
import { tellApiRetiredOnce } from './api-retired.js';
import { logPoll } from './poll-log.js';
import { wantedMode, type Appetite, type PollMode } from './poll-mode.js';
import { DroppedKeys } from './dropped-keys.js';
import { BetweenCycles } from './between-cycles.js';

/** What the watch loop needs; everything with a side effect is passed in. */
export interface WatcherDeps {
  api: RunpodApi;
  store: Store;
  clock: Clock;
  logger: Logger;
  keys: readonly WatchKey[];
  /** Every configured notifier: `api.*` events go to all of them. */
  notifiers: readonly string[];
  retentionMs: number;
  /** Whether mutations may be sent; closed by a refused key. */
  auth: AuthGate;
  /** Rules and resume entries: acts on each snapshot with the pod list, before it is recorded. */
  engine?: CycleActor;
  /** A dry run decides without a key: with none, the pod list is taken as empty. */
  dryRun?: boolean;
  /** The seam for alerts: called with each snapshot after it is recorded. */
  onSnapshot?: (snapshot: Snapshot, signal: AbortSignal) => Promise<void>;
  /** Whether an alert is pending after the last snapshot (not firing yet, or counting polls towards a change). */
  alertsPending?: () => boolean;
  /** Told of every finished cycle (metrics). */
  onCycle?: (result: CycleResult) => void;
  /**
   * Asked before each cycle, before anything is read or sent; false skips the cycle. The database
   * lease is checked and renewed here: a daemon that lost it never acts again.
   */
  beforeCycle?: (signal: AbortSignal) => Promise<boolean>;
}

/** What acts on a cycle's snapshot and pod list (the rules engine). */
interface CycleActor {
  readonly active: boolean;
  /** What the last `act` decided: a rule waiting for stock, anything able to act. */
  readonly appetite: Appetite;
  extraKeys(): readonly WatchKey[];
  act(snapshot: Snapshot, pods: readonly Pod[], signal: AbortSignal): Promise<void>;
}

/** What one cycle did. */
export interface CycleResult {
  outcome: PollOutcome;
  durationMs: number;
  offers: number;
  dropped: number;
  changes: StateChange[];
  errorKind?: RunpodErrorKind;
  /** The polling mode this cycle asks for next. */
  wants: PollMode;
}

/** Counters since start, for logs, `status` and metrics. */
export interface WatcherStats {
  polls: Record<PollOutcome, number>;
  skippedTicks: number;
  apiErrors: Record<RunpodErrorKind, number>;
  dropped: Record<DropReason, number>;
  cycleErrors: number;
  lastPollAt: number | null;
  /** Wall time of the last successful poll, for display; ages are judged by `sinceSuccessMs`. */
  lastSuccessAt: number | null;
}

const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_BATCH = 1_000;

function uniqueKeys(keys: readonly WatchKey[]): WatchKey[] {
  return [...new Map(keys.map((k) => [keyId(k), k])).values()];
}

/**
 * The watch loop's heart. Each `tick` runs one cycle: one snapshot request for every watched key,
 * recorded in one transaction, then handed on. Ticks never overlap (a tick that finds a cycle
 * running is skipped and counted), and nothing a cycle throws stops the loop.
 */
export class Watcher {
  readonly stats: WatcherStats = {
    polls: { ok: 0, partial: 0, failed: 0 },
    skippedTicks: 0,
    apiErrors: Object.fromEntries(RUNPOD_ERROR_KINDS.map((k) => [k, 0])) as Record<RunpodErrorKind, number>,
    dropped: { unknown_gpu: 0, malformed: 0, error: 0, unsupported: 0 },
    cycleErrors: 0,
    lastPollAt: null,
    lastSuccessAt: null,
  };
  /** The last snapshot that got an answer, for status and metrics. */
  lastSnapshot: Snapshot | undefined;
  private running: Promise<CycleResult | undefined> | undefined;
  private readonly controller = new AbortController();
  private health: ApiHealth;
  /** Monotonic time of the last pruning; an hour on the monotonic clock passes between two. */
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  /** Monotonic time this watcher was made, and of its last successful poll. */
  private readonly startedMono: number;
  private lastSuccessMono: number | undefined;
  private pruning: Promise<number> | undefined;
  private readonly log: Logger;
  private readonly between = new BetweenCycles();
  private readonly dropped: DroppedKeys;
  /** What this watcher polls and tells; a reload replaces them between cycles. */
  private targets: Pick<WatcherDeps, 'keys' | 'notifiers' | 'retentionMs'>;

  constructor(private readonly deps: WatcherDeps) {
    this.log = deps.logger.child({ component: 'watcher' });
    this.targets = { keys: deps.keys, notifiers: deps.notifiers, retentionMs: deps.retentionMs };
    this.dropped = new DroppedKeys(this.log);
    this.health = deps.store.daemon.apiHealth.get() ?? HEALTHY;
    this.startedMono = deps.clock.monotonic();
  }

  /** RunPod's health as the watcher judges it. */
  get apiHealth(): ApiHealth {
    return this.health;
  }

  /**
   * Milliseconds since the last successful poll (or since this watcher started, before the first),
   * on the monotonic clock: it keeps growing through a stall that a wall-clock step back would hide.
   */
  sinceSuccessMs(): number {
    return this.deps.clock.monotonic() - (this.lastSuccessMono ?? this.startedMono);
  }

  /** Runs a cycle unless one is running; resolves with its result, or undefined when skipped or aborted. */
  tick(): Promise<CycleResult | undefined> {
    if (this.controller.signal.aborted) return Promise.resolve(undefined);
    if (this.running) {
      this.stats.skippedTicks++;
      this.log.warn({ skippedTicks: this.stats.skippedTicks }, 'tick skipped: the previous cycle is still running');
      return Promise.resolve(undefined);
    }
    this.running = this.guardedCycle().finally(() => {
      this.running = undefined;
      this.between.release();
    });
    return this.running;
  }

  /**
   * Runs `work` between two cycles: at once when none is running, else as soon as the one in flight
   * ends and before another can start, so a cycle never sees half of a change.
   */
  betweenCycles<T>(work: () => T): Promise<T> {
    return this.between.run(this.running !== undefined, work);
  }

  /** Replaces the keys polled, the notifiers `api.*` events go to and the retention (a reload, between cycles). */
  retarget(targets: Pick<WatcherDeps, 'keys' | 'notifiers' | 'retentionMs'>): void {
    this.targets = targets;
  }

  /** Aborts the cycle in flight (its HTTP request too) and waits until it has settled. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('watcher stopping'));
    await this.running;
    await this.pruning;
  }

  /** Deletes history, and events whose deliveries are settled, older than the retention window, in short batches between which polls can run. */
  async prune(): Promise<number> {
    this.pruning ??= (async () => {
      const cutoff = this.deps.clock.now() - this.targets.retentionMs;
      let total = 0;
      for (;;) {
        const history = this.deps.store.history.prune(cutoff, PRUNE_BATCH);
        // Settled events and their deliveries go with the history they belong to.
        const deleted = history < PRUNE_BATCH ? history + this.deps.store.outbox.prune(cutoff, PRUNE_BATCH - history) : history;
        total += deleted;
        if (deleted < PRUNE_BATCH || this.controller.signal.aborted) break;
        await yieldToLoop();
      }
      if (total > 0) this.log.info({ deleted: total }, 'pruned history and settled events past the retention window');
      return total;
    })().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  private async guardedCycle(): Promise<CycleResult | undefined> {
    try {
      if (this.deps.beforeCycle && !(await this.deps.beforeCycle(this.controller.signal))) return undefined;
      const result = await this.cycle(this.controller.signal);
      this.deps.onCycle?.(result);
      if (this.deps.clock.monotonic() - this.lastPruneAt >= PRUNE_EVERY_MS) {
        this.lastPruneAt = this.deps.clock.monotonic();
        void this.prune().catch((error: unknown) => this.log.error({ err: error }, 'pruning failed; will retry next hour'));
      }
      return result;
    } catch (error) {
      if (this.controller.signal.aborted) {
        this.log.info('cycle aborted for shutdown');
        return undefined;
      }
      this.stats.cycleErrors++;
      this.log.error({ err: error }, 'cycle failed; the loop goes on');
      return undefined;
    }
  }

  private async cycle(signal: AbortSignal): Promise<CycleResult> {
    const { api, clock, engine } = this.deps;
    const started = clock.now();
    const keys = engine ? uniqueKeys([...this.targets.keys, ...engine.extraKeys()]) : this.targets.keys;
    // The pod list rides in the snapshot's request, so acting on fresh stock costs no extra round trip.
    const podsWanted = this.podsWanted();
    let snapshot: Snapshot;
    try {
      snapshot = await api.snapshot(keys, { signal, withPods: podsWanted === 'read' });
    } catch (error) {
      if (signal.aborted || !(error instanceof RunpodError)) throw error;
      return this.recordFailure(error, started);
    }
    // The market is stamped when it was seen, not after the rules have acted on it.
    const at = clock.now();
    const atMono = clock.monotonic();
    const { pods: podsPart, ...market } = snapshot;
    snapshot = market;
    this.lastSnapshot = snapshot;
    const pods = podsWanted === 'empty' ? [] : this.podList(podsPart);
    // Without rules there is nothing to act: the rules are content. With rules, only a cycle where they acted tells.
    let rules: Appetite | undefined = engine?.active ? undefined : { hungry: false, canAct: false };
    if (engine?.active && pods) {
      try {
        await engine.act(snapshot, pods, signal);
        rules = engine.appetite;
      } catch (error) {
        if (signal.aborted) throw error;
        this.stats.cycleErrors++;
        this.log.error({ err: error }, 'rules failed this cycle; the poll is still recorded');
      }
    }
    const outcome: PollOutcome = snapshot.dropped.length === 0 ? 'ok' : 'partial';
    const poll: PollRecord = { at, durationMs: at - started, outcome };
    const changes = this.record(poll, snapshot);
    this.stats.polls[outcome]++;
    this.stats.lastPollAt = at;
    this.stats.lastSuccessAt = at;
    this.lastSuccessMono = atMono;
    this.dropped.observe(snapshot, this.stats.dropped);
    logPoll(this.log, poll, snapshot, changes);
    await this.deps.onSnapshot?.(snapshot, signal);
    const wants = wantedMode({ rules, alertsPending: this.deps.alertsPending?.() ?? false });
    return { outcome, durationMs: poll.durationMs, offers: snapshot.offers.length, dropped: snapshot.dropped.length, changes, wants };
  }

  /**
   * Whether this cycle reads the account's pods: when the rules need them, and while RunPod refuses
   * the key, rules or not (the list needs the key, so its success is what opens the gate again).
   * Without a key nothing is read: a dry run then works on an empty list, anything else waits.
   */
  private podsWanted(): 'read' | 'empty' | 'none' {
    const { engine, auth } = this.deps;
    if (!engine?.active && !auth.refused) return 'none';
    if (!auth.keyed) return this.deps.dryRun && engine?.active ? 'empty' : 'none';
    return 'read';
  }

  /**
   * The pods the rules act on, from the snapshot's pod part, or undefined when there are none to
   * act on: not asked for, or the pod part failed (the rules then wait a cycle rather than act blind;
   * the market is still recorded). A refused key closes the gate; an answer opens it.
   */
  private podList(part: PodsAnswer | undefined): readonly Pod[] | undefined {
    const { auth } = this.deps;
    if (!part) return undefined;
    if ('pods' in part) {
      auth.accept('read');
      return part.pods;
    }
    if (part.error.kind === 'auth') auth.refuse(part.error.message, 'read');
    else this.log.warn({ kind: part.error.kind, detail: part.error.message }, 'could not read the pod list; rules wait this cycle');
    return undefined;
  }

  private record(poll: PollRecord, snapshot: Snapshot | undefined): StateChange[] {
    const { health, event } = nextHealth(this.health, poll.outcome !== 'failed', poll.at);
    const changes = this.deps.store.history.recordPoll(poll, snapshot?.offers ?? [], () => {
      this.deps.store.daemon.apiHealth.set(health, poll.at);
      if (event) this.deps.store.outbox.append(healthEvent(event, poll, this.health, health), this.targets.notifiers);
    });
    if (event === 'api.down') this.log.error({ failures: health.failures }, `RunPod API down: ${health.failures} polls in a row failed`);
    if (event === 'api.up') this.log.info({ downFor: poll.at - (this.health.downSince ?? poll.at) }, 'RunPod API is back');
    this.health = health;
    return changes;
  }

  private recordFailure(error: RunpodError, started: number): CycleResult {
    const at = this.deps.clock.now();
    const poll: PollRecord = { at, durationMs: at - started, outcome: 'failed', errorKind: error.kind, error: error.message };
    this.record(poll, undefined);
    this.stats.polls.failed++;
    this.stats.apiErrors[error.kind]++;
    this.stats.lastPollAt = at;
    if (error.kind === 'retired') tellApiRetiredOnce(this.deps.store, this.targets.notifiers, error, at, this.log);
    if (error.kind === 'auth') {
      this.deps.auth.refuse(error.message, 'read');
    } else {
      this.log.warn({ kind: error.kind, status: error.status, durationMs: poll.durationMs }, `poll failed: ${error.message}`);
    }
    return { outcome: 'failed', durationMs: poll.durationMs, offers: 0, dropped: 0, changes: [], errorKind: error.kind, wants: 'base' };
  }
}
