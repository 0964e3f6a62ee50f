import { createHash, randomBytes } from 'node:crypto';
import { RunpodError } from '../runpod/errors.js';
import { keyId, type GpuOffer, type Pod, type PodSpec, type RunpodApi, type Snapshot, type WatchKey } from '../runpod/types.js';
import { DEPLOY_ENV, RULE_ENV } from '../runpod/graphql/pod-queries.js';
import type { Config, ResumeConfig, RuleConfig } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { formatDuration } from '../lib/duration.js';
import { usd } from '../lib/format.js';
import type { Logger } from '../lib/logger.js';
import type { DeployKind, DeployRecord, DeployStatus } from '../store/deploy-journal.js';
import { memoryNamedState } from '../store/named-state.js';
import type { NamedState, RuleReport } from '../store/repositories.js';
import type { Store } from '../store/store.js';
import type { AuthGate } from '../loop/auth-gate.js';
import {
  decideRule,
  exhaustionReasons,
  INITIAL_RULE_STATE,
  overPodBudget,
  overSpendBudget,
  reasonsChanged,
  type DeployOption,
  type ExhaustionReasons,
  type RuleState,
  type Skip,
} from './decide.js';
import { eventGpu, newEvent, type EventType, type WatcherEvent } from '../events/event.js';

/** How long a deploy whose answer was lost may still show up in the pod list before it counts as not made. */
export const UNKNOWN_DEPLOY_GRACE_MS = 10 * 60_000;
/** How long a resume entry waits after RunPod refused to resume its pod. */
const RESUME_RETRY_MS = 5 * 60_000;

/** What the engine remembers of a resume entry between cycles (persisted as JSON). */
interface ResumeState {
  retryUntil: number;
  missingTold: boolean;
  budgetTold: boolean;
}

/**
 * What the engine does after RunPod failed a deploy: try the next candidate (capacity, or a field
 * RunPod no longer takes), block the rule until its config changes (invalid request), wait for the
 * pod list (no answer: the pod may exist), stop deploying (key refused, API retired), or simply try
 * again next cycle (RunPod never saw the request).
 */
type NextStep = 'fall back' | 'block' | 'wait for pod list' | 'stop: key' | 'stop: retired' | 'next cycle';

/** The outcome of sending one deploy or resume. */
type SendOutcome = { kind: 'done'; pod: Pod } | { kind: 'failed'; error: RunpodError; next: NextStep } | { kind: 'aborted' };

const isLive = (pod: Pod): boolean => pod.desiredStatus === 'RUNNING' || pod.desiredStatus === 'CREATED';

const podFacts = (pod: Pod): NonNullable<WatcherEvent['pod']> => ({ id: pod.id, name: pod.name, kind: pod.kind, costPerHr: pod.costPerHr });

function describeSkips(skipped: readonly Skip[]): string {
  return skipped.map((s) => `${s.gpuTypeId}: ${s.reason} (${s.detail})`).join('; ');
}

/** What the rules engine needs; everything with a side effect is passed in. */
export interface RulesEngineDeps {
  api: RunpodApi;
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  auth: AuthGate;
  dryRun: boolean;
}

/**
 * Carries out the rules and resume entries each cycle: reconciles the deploy journal with the pod
 * list, asks `decideRule` what each rule should do, sends deploys (journaled first) and falls back
 * on refusals, resumes stopped pods, and records every event in the outbox. In a dry run it decides
 * and records the same, sends nothing, and keeps its would-be pods and state in memory.
 */
export class RulesEngine {
  private readonly states: NamedState<RuleState>;
  private readonly resumeStates: NamedState<ResumeState>;
  private readonly dryRunPods: Pod[] = [];
  private readonly log: Logger;
  private resumeKeys: WatchKey[];
  /**
   * Monotonic time at which this process journaled, or first found unresolved, each deploy whose
   * outcome is unknown: the grace is measured on it as well as on the journal's wall-clock time.
   */
  private unresolvedSince = new Map<string, number>();
  /** The last report per rule, kept for `status` with each cycle. */
  private readonly reports = new Map<string, RuleReport>();

  constructor(private readonly deps: RulesEngineDeps) {
    this.log = deps.logger.child({ component: 'rules' });
    const persisted = deps.store.states<RuleState>('rule');
    const persistedResume = deps.store.states<ResumeState>('resume');
    this.states = deps.dryRun ? memoryNamedState(persisted) : persisted;
    this.resumeStates = deps.dryRun ? memoryNamedState(persistedResume) : persistedResume;
    this.resumeKeys = deps.store.daemon.resumeKeys.get() ?? [];
    deps.api.spot.onRetired((detail, at) => this.tellSpotRetired(detail, at));
  }

  /** Whether there is anything to act on (and so a pod list to read each cycle). */
  get active(): boolean {
    return this.deps.config.rules.length + this.deps.config.resume.length > 0;
  }

  /** Keys the resume entries need watched: their pods' GPU types, learned from the pod list. */
  extraKeys(): WatchKey[] {
    return this.resumeKeys;
  }

  /** False while RunPod does not serve spot (the client finds it out and keeps it). */
  get spotAvailable(): boolean {
    return this.deps.api.spot.available;
  }

  /** One cycle's actions, on this cycle's snapshot and pod list. */
  async act(snapshot: Snapshot, pods: readonly Pod[], signal: AbortSignal): Promise<void> {
    const now = this.deps.clock.now();
    this.learnResumeKeys(pods, now);
    this.reconcile(pods, now);
    // Read once per cycle, after reconciling: a deploy sent later this cycle belongs to a rule or
    // resume entry that has already had its one turn.
    const unresolved = new Map<string, number>();
    for (const d of this.deps.store.journal.unresolved()) unresolved.set(d.rule, (unresolved.get(d.rule) ?? 0) + 1);
    const offers = new Map(snapshot.offers.map((o) => [keyId(o.key), o]));
    const live = [...pods.filter(isLive), ...this.dryRunPods];
    for (const rule of this.deps.config.rules) {
      if (signal.aborted) return;
      await this.runRule(rule, offers, live, unresolved, signal);
    }
    for (const entry of this.deps.config.resume) {
      if (signal.aborted) return;
      await this.runResume(entry, offers, pods, live, unresolved, signal);
    }
    // Kept for the status document, which `gpu-watcher status` reads from the database while the daemon runs.
    this.deps.store.daemon.rulesLastCycle.set({ at: now, reports: [...this.reports.values()], livePods: this.watcherPods(live) }, now);
  }

  /** The live pods the budget counts: those the watcher deployed, and the resume entries' pods. */
  private watcherPods(live: readonly Pod[]): Pod[] {
    const resumed = new Set(this.deps.config.resume.map((r) => r.podId));
    return live.filter((p) => p.watcher !== null || resumed.has(p.id));
  }

  private budgetView(live: readonly Pod[]): { pods: number; spend: number } {
    const counted = this.watcherPods(live);
    return { pods: counted.length, spend: counted.reduce((sum, p) => sum + p.costPerHr, 0) };
  }

  private async runRule(rule: RuleConfig, offers: ReadonlyMap<string, GpuOffer>, live: Pod[], unresolved: ReadonlyMap<string, number>, signal: AbortSignal): Promise<void> {
    const now = this.deps.clock.now();
    // Spread over the initial state: a state saved by an older version may lack newer fields.
    const state: RuleState = structuredClone({ ...INITIAL_RULE_STATE, ...this.states.get(rule.name) });
    const budget = this.budgetView(live);
    const decision = decideRule(rule, state, {
      offers,
      rulePods: live.filter((p) => p.watcher?.rule === rule.name).length,
      deploys: this.deps.store.journal.succeededCount(rule.name) + this.dryRunPods.filter((p) => p.watcher?.rule === rule.name).length,
      unresolvedDeploys: unresolved.get(rule.name) ?? 0,
      budgetPods: budget.pods,
      budgetSpend: budget.spend,
      budget: this.deps.config.budget,
      spotAvailable: this.spotAvailable,
      configHash: configHash(rule),
      now,
    });
    const report = (outcome: RuleReport['outcome'], detail: string): void => void this.reports.set(rule.name, { rule: rule.name, at: now, outcome, detail });
    switch (decision.kind) {
      case 'rest':
        report('resting', `${decision.reason}: ${decision.detail}`);
        this.log.debug({ rule: rule.name, reason: decision.reason, detail: decision.detail }, 'rule rests');
        if (decision.reason === 'max pods' || decision.reason === 'max deploys') {
          state.exhausted = null;
          state.budgetTold = false;
        }
        if (decision.reason === 'budget pods') this.tellBudget(rule, state, decision.detail, now);
        break;
      case 'over budget':
        report('over budget', describeSkips(decision.skipped));
        this.tellBudget(rule, state, describeSkips(decision.skipped.filter((s) => s.reason === 'budget')), now);
        break;
      case 'exhausted':
        report('exhausted', describeSkips(decision.skipped));
        this.tellExhausted(rule, state, exhaustionReasons(decision.skipped, [], state.exhausted), describeSkips(decision.skipped), now);
        break;
      case 'deploy': {
        state.budgetTold = false;
        const result = await this.deployFirst(rule, state, decision.options, decision.skipped, live, signal);
        report(result.outcome, result.detail);
        break;
      }
    }
    this.states.set(rule.name, state, now);
  }

  /**
   * Tries the options in order until one deploys: at most one deploy per rule per cycle. Every
   * failed attempt is told (`pod.deploy_failed`), with what happens next; when every candidate was
   * refused or skipped, the rule is exhausted.
   */
  private async deployFirst(
    rule: RuleConfig,
    state: RuleState,
    options: DeployOption[],
    skipped: Skip[],
    live: Pod[],
    signal: AbortSignal,
  ): Promise<{ outcome: RuleReport['outcome']; detail: string }> {
    const passedOver: string[] = skipped.filter((s) => s.candidate < (options[0]?.candidate ?? 0)).map((s) => `${s.gpuTypeId} ${s.reason} (${s.detail})`);
    const refused: { gpu: string; text: string }[] = [];
    const stopped = (detail: string) => ({ outcome: 'failed' as const, detail });
    for (const [index, first] of options.entries()) {
      if (!this.deps.dryRun && !this.deps.auth.open) return stopped('RunPod refused the API key');
      let option = first;
      let outcome = await this.send(rule, option, signal);
      if (outcome.kind === 'failed' && outcome.error.spotField !== undefined && option.onDemand) {
        // RunPod's answer names a spot field: the same candidate on-demand tells whether spot is gone.
        const spotError = outcome.error;
        this.failed(rule, option, outcome, 'trying on-demand on the same candidate', this.deps.clock.now());
        option = option.onDemand;
        outcome = await this.send(rule, option, signal);
        if (outcome.kind === 'done') this.deps.api.spot.retire(spotError.message, this.deps.clock.now());
      }
      const now = this.deps.clock.now();
      if (outcome.kind === 'aborted') return stopped('aborted');
      if (outcome.kind === 'done') {
        state.exhausted = null;
        live.push(outcome.pod);
        if (passedOver.length > 0) {
          this.emit('rule.fallback', rule.notify, now, {
            summary: `${rule.name} fell back to ${option.gpuTypeId}: ${passedOver.join('; ')}`,
            rule: rule.name,
            gpu: eventGpu(option.offer),
            details: { passedOver },
          });
        }
        this.emitDeployed(rule, option, outcome.pod, now);
        return { outcome: 'deployed', detail: `pod ${outcome.pod.id} on ${outcome.pod.gpuTypeId ?? option.gpuTypeId} (${outcome.pod.kind})` };
      }
      const message = outcome.error.message;
      switch (outcome.next) {
        case 'fall back': {
          state.retryUntil[option.gpuTypeId] = now + rule.retryAfter;
          const text = `${option.gpuTypeId} refused by RunPod (${message})`;
          refused.push({ gpu: option.gpuTypeId, text });
          passedOver.push(text);
          const next = options[index + 1];
          const then = next ? `trying the next candidate ${next.gpuTypeId}` : 'no candidate left this cycle; rule exhausted';
          this.failed(rule, option, outcome, `${option.gpuTypeId} is skipped for ${formatDuration(rule.retryAfter)}; ${then}`, now);
          continue;
        }
        case 'block':
          state.blocked = { reason: message, configHash: configHash(rule) };
          this.failed(rule, option, outcome, 'the rule rests until its config changes', now);
          return stopped(`RunPod refused the request; resting until the rule changes (${message})`);
        case 'wait for pod list':
          this.failed(rule, option, outcome, 'the pod list will tell whether it was made, and the rule waits until then', now);
          return stopped(`no answer; waiting for the pod list (${message})`);
        case 'stop: key':
          this.deps.auth.refuse(message, 'write');
          this.failed(rule, option, outcome, 'no deploys until RunPod accepts the key', now);
          return stopped(`RunPod refused the API key (${message})`);
        case 'stop: retired':
          this.failed(rule, option, outcome, 'no deploys until the watcher moves to the newer API', now);
          return stopped(`RunPod has retired the API (${message})`);
        case 'next cycle':
          this.failed(rule, option, outcome, 'tried again next cycle', now);
          return stopped(message);
      }
    }
    const why = [describeSkips(skipped), ...refused.map((r) => r.text)].filter((part) => part !== '').join('; ');
    this.tellExhausted(rule, state, exhaustionReasons(skipped, refused.map((r) => r.gpu), state.exhausted), why, this.deps.clock.now());
    return { outcome: 'exhausted', detail: why };
  }

  /** Journals, then sends, one deploy; classifies how it ended. */
  private async send(rule: RuleConfig, option: DeployOption, signal: AbortSignal): Promise<SendOutcome> {
    const id = `dep_${randomBytes(10).toString('hex')}`;
    const spec: PodSpec = { ...rule.pod, name: rule.pod.name ?? rule.name, env: { ...rule.pod.env, [RULE_ENV]: rule.name, [DEPLOY_ENV]: id } };
    const base = { gpuTypeId: option.gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, spec };
    return this.journaled(
      { id, rule: rule.name, gpuTypeId: option.gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, kind: option.kind, price: option.pricePerGpu },
      () =>
        option.kind === 'spot'
          ? this.deps.api.deploySpot({ ...base, bidPerGpu: option.bidPerGpu ?? option.pricePerGpu }, { signal })
          : this.deps.api.deployOnDemand({ ...base, deployCost: option.deployCost ?? option.costPerHr }, { signal }),
      () => ({
        id: `dry-run-${id}`,
        name: spec.name ?? rule.name,
        desiredStatus: 'RUNNING',
        costPerHr: option.costPerHr,
        gpuCount: rule.gpuCount,
        gpuTypeId: option.gpuTypeId,
        gpuDisplayName: option.offer.displayName,
        imageName: spec.imageName ?? null,
        cloud: rule.cloud === 'ALL' ? null : rule.cloud,
        kind: option.kind,
        watcher: { rule: rule.name, deployId: id },
      }),
      signal,
    );
  }

  /**
   * Writes the journal entry (committed before anything is sent), sends, and completes the entry
   * with the outcome. A dry run completes it with the would-be pod and sends nothing.
   */
  private async journaled(
    entry: Pick<DeployRecord, 'id' | 'rule' | 'gpuTypeId' | 'gpuCount' | 'cloud' | 'kind' | 'price'> & { podId?: string },
    mutation: () => Promise<Pod>,
    wouldBe: () => Pod,
    signal: AbortSignal,
  ): Promise<SendOutcome> {
    const { journal } = this.deps.store;
    journal.begin({ ...entry, dryRun: this.deps.dryRun, createdAt: this.deps.clock.now() });
    this.unresolvedSince.set(entry.id, this.deps.clock.monotonic());
    if (this.deps.dryRun) {
      const pod = wouldBe();
      journal.complete(entry.id, 'succeeded', this.deps.clock.now(), { podId: pod.id });
      this.dryRunPods.push(pod);
      return { kind: 'done', pod };
    }
    try {
      const pod = await mutation();
      this.deps.auth.accept('write');
      journal.complete(entry.id, 'succeeded', this.deps.clock.now(), { podId: pod.id });
      return { kind: 'done', pod };
    } catch (error) {
      const now = this.deps.clock.now();
      if (signal.aborted || !(error instanceof RunpodError)) {
        journal.complete(entry.id, 'unknown', now, { error: signal.aborted ? 'aborted while in flight' : String(error) });
        if (signal.aborted) return { kind: 'aborted' };
        throw error;
      }
      const [status, next] = outcomeOf(error);
      journal.complete(entry.id, status, now, { error: error.message });
      return { kind: 'failed', error, next };
    }
  }

  /**
   * Settles journaled deploys whose answer was lost: a pod carrying the deploy's id means it was
   * made; none after the grace period means it was not. The grace ends only when it has passed
   * both on the wall clock (since the journal entry, which survives restarts) and on the monotonic
   * clock (since this process journaled the deploy or first found it unresolved): a wall clock
   * jumping forward must not let a rule deploy again while the first deploy may still show up.
   * After a restart the wait starts over, which errs on the side of not deploying twice.
   */
  private reconcile(pods: readonly Pod[], now: number): void {
    const mono = this.deps.clock.monotonic();
    const unresolved = this.deps.store.journal.unresolved();
    this.unresolvedSince = new Map(unresolved.map((entry) => [entry.id, this.unresolvedSince.get(entry.id) ?? mono]));
    for (const entry of unresolved) {
      const resume = entry.kind === 'resume' || entry.kind === 'bid-resume';
      const pod = resume ? pods.find((p) => p.id === entry.podId && isLive(p)) : pods.find((p) => p.watcher?.deployId === entry.id);
      if (pod) {
        this.deps.store.journal.complete(entry.id, 'succeeded', now, { podId: pod.id });
        this.log.info({ deploy: entry.id, pod: pod.id }, 'a deploy whose answer was lost did make its pod');
        const notify = this.notifyListOf(entry.rule);
        if (resume) {
          this.emit('pod.resumed', notify, now, { summary: `${entry.rule} resumed pod ${pod.id} (confirmed from the pod list)`, rule: entry.rule, pod: podFacts(pod) });
        } else {
          this.emit('pod.deployed', notify, now, {
            summary: `${entry.rule} deployed ${entry.gpuTypeId} x${entry.gpuCount} ${entry.kind} at ${usd(entry.price)}/GPU/hr (pod ${pod.id}; confirmed from the pod list)`,
            rule: entry.rule,
            pod: podFacts(pod),
          });
        }
      } else if (now - entry.createdAt >= UNKNOWN_DEPLOY_GRACE_MS && mono - (this.unresolvedSince.get(entry.id) ?? mono) >= UNKNOWN_DEPLOY_GRACE_MS) {
        this.deps.store.journal.complete(entry.id, 'failed', now, { error: `${entry.error ?? 'no answer'}; no pod carries this deploy after ${UNKNOWN_DEPLOY_GRACE_MS / 60_000} min` });
        this.log.warn({ deploy: entry.id, rule: entry.rule }, 'a deploy whose answer was lost made no pod; the rule may deploy again');
      }
    }
  }

  private async runResume(
    entry: ResumeConfig,
    offers: ReadonlyMap<string, GpuOffer>,
    pods: readonly Pod[],
    live: Pod[],
    unresolved: ReadonlyMap<string, number>,
    signal: AbortSignal,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const state: ResumeState = this.resumeStates.get(entry.name) ?? { retryUntil: 0, missingTold: false, budgetTold: false };
    const save = (): void => this.resumeStates.set(entry.name, state, now);
    const pod = pods.find((p) => p.id === entry.podId);
    if (!pod) {
      if (!state.missingTold) this.log.warn({ resume: entry.name, podId: entry.podId }, 'RunPod lists no such pod; this resume entry waits for it');
      state.missingTold = true;
      return save();
    }
    state.missingTold = false;
    const resumedInDryRun = this.dryRunPods.some((p) => p.id === pod.id);
    if (pod.desiredStatus !== 'EXITED' || resumedInDryRun || state.retryUntil > now || !(this.deps.dryRun || this.deps.auth.open)) return save();
    if (unresolved.has(entry.name)) return save();
    const offer = pod.gpuTypeId ? offers.get(keyId(resumeKey(entry, pod))) : undefined;
    if (!offer || offer.stock === 'None' || (offer.availableGpuCounts !== null && !offer.availableGpuCounts.includes(entry.gpuCount))) return save();
    const bid = entry.bid;
    if (bid !== undefined && (!this.spotAvailable || (offer.minBidPrice !== null && offer.minBidPrice > bid))) return save();
    const price = bid ?? offer.onDemandPrice ?? pod.costPerHr / Math.max(1, pod.gpuCount);
    const budget = this.budgetView(live);
    const limits = this.deps.config.budget;
    if (overPodBudget(limits, budget.pods) || overSpendBudget(limits, budget.spend, price * entry.gpuCount)) {
      if (!state.budgetTold) {
        this.emit('budget.blocked', entry.notify, now, { summary: `${entry.name} held back by the budget: resuming pod ${pod.id} would pass it`, rule: entry.name, gpu: eventGpu(offer) });
      }
      state.budgetTold = true;
      return save();
    }
    state.budgetTold = false;
    const kind: DeployKind = bid === undefined ? 'resume' : 'bid-resume';
    const outcome = await this.journaled(
      { id: `dep_${randomBytes(10).toString('hex')}`, rule: entry.name, gpuTypeId: offer.key.gpuTypeId, gpuCount: entry.gpuCount, cloud: offer.key.cloud, kind, price, podId: pod.id },
      () => (bid === undefined ? this.deps.api.resumePod({ podId: pod.id, gpuCount: entry.gpuCount }, { signal }) : this.deps.api.bidResumePod({ podId: pod.id, gpuCount: entry.gpuCount, bidPerGpu: bid }, { signal })),
      () => ({ ...pod, desiredStatus: 'RUNNING', costPerHr: price * entry.gpuCount }),
      signal,
    );
    const after = this.deps.clock.now();
    if (outcome.kind === 'done') {
      live.push(outcome.pod);
      this.emit('pod.resumed', entry.notify, after, {
        summary: `${entry.name} resumed pod ${pod.id} (${offer.key.gpuTypeId} x${entry.gpuCount}) ${bid === undefined ? 'on-demand' : `at a bid of ${usd(bid)}/GPU/hr`}${this.deps.dryRun ? ' (dry run: nothing was sent)' : ''}`,
        rule: entry.name,
        gpu: eventGpu(offer),
        pod: podFacts(outcome.pod),
      });
    } else if (outcome.kind === 'failed' && outcome.error.kind === 'capacity') {
      state.retryUntil = after + RESUME_RETRY_MS;
      this.log.info({ resume: entry.name, podId: pod.id, detail: outcome.error.message }, 'resume refused; trying again later');
    } else if (outcome.kind === 'failed') {
      if (outcome.next === 'stop: key') this.deps.auth.refuse(outcome.error.message, 'write');
      state.retryUntil = after + RESUME_RETRY_MS;
      this.log.warn({ resume: entry.name, podId: pod.id, kind: outcome.error.kind, detail: outcome.error.message }, 'resume failed');
    }
    return save();
  }

  private learnResumeKeys(pods: readonly Pod[], now: number): void {
    const keys: WatchKey[] = [];
    for (const entry of this.deps.config.resume) {
      const pod = pods.find((p) => p.id === entry.podId);
      if (pod?.gpuTypeId) keys.push(resumeKey(entry, pod));
    }
    if (JSON.stringify(keys) === JSON.stringify(this.resumeKeys)) return;
    this.resumeKeys = keys;
    this.deps.store.daemon.resumeKeys.set(keys, now);
  }

  /** Told once per retirement (the client keeps it, across restarts), to every notifier. */
  private tellSpotRetired(detail: string, now: number): void {
    this.emit('spot.unavailable', Object.keys(this.deps.config.notifiers), now, {
      summary: 'RunPod no longer offers spot pods: rules go on with on-demand where they allow it; spot-only rules and bid resumes wait (checked again daily)',
      details: { detail },
    });
  }

  /** Tells `rule.exhausted` at the start of a stretch with nothing to deploy, and again when its reasons change. */
  private tellExhausted(rule: RuleConfig, state: RuleState, reasons: ExhaustionReasons, why: string, now: number): void {
    if (reasonsChanged(state.exhausted, reasons)) {
      this.log.info({ rule: rule.name, reasons }, `no candidate left this cycle; rule exhausted: ${why}`);
      this.emit('rule.exhausted', rule.notify, now, { summary: `${rule.name} has nothing to deploy: ${why}`, rule: rule.name, details: { reasons } });
    } else {
      this.log.debug({ rule: rule.name, reasons }, 'rule still exhausted, for the same reasons');
    }
    state.exhausted = reasons;
  }

  private tellBudget(rule: RuleConfig, state: RuleState, why: string, now: number): void {
    if (!state.budgetTold) this.emit('budget.blocked', rule.notify, now, { summary: `${rule.name} held back by the budget: ${why}`, rule: rule.name });
    state.budgetTold = true;
  }

  /**
   * Tells one failed deploy attempt: `pod.deploy_failed` with the candidate, the kind of refusal and
   * RunPod's (sanitised) message, and a log line; both say what happens next.
   */
  private failed(rule: RuleConfig, option: DeployOption, outcome: Extract<SendOutcome, { kind: 'failed' }>, next: string, now: number): void {
    const { error } = outcome;
    const why = `${refusalWords(outcome)}; ${next}`;
    const fields = { rule: rule.name, gpu: option.gpuTypeId, kind: option.kind, refusal: error.kind };
    if (error.kind === 'capacity') this.log.info(fields, `deploy refused: ${why}`);
    else this.log.warn(fields, `deploy failed: ${why}`);
    this.emit('pod.deploy_failed', rule.notify, now, {
      summary: `${rule.name} could not deploy ${option.gpuTypeId} ${option.kind}: ${why}`,
      rule: rule.name,
      gpu: eventGpu(option.offer),
      details: { candidate: option.gpuTypeId, kind: option.kind, refusal: error.kind, message: error.message, next },
    });
  }

  private emitDeployed(rule: RuleConfig, option: DeployOption, pod: Pod, now: number): void {
    const how = option.kind === 'spot' ? `spot at a bid of ${usd(option.pricePerGpu)}/GPU/hr` : `on-demand at ${usd(option.pricePerGpu)}/GPU/hr`;
    const dry = this.deps.dryRun ? ' (dry run: nothing was sent)' : '';
    this.log.info({ rule: rule.name, pod: pod.id, gpu: option.gpuTypeId, kind: option.kind, price: option.pricePerGpu, dryRun: this.deps.dryRun }, 'deployed');
    this.emit('pod.deployed', rule.notify, now, {
      summary: `${rule.name} deployed ${option.gpuTypeId} x${rule.gpuCount} ${how} (pod ${pod.id})${dry}`,
      rule: rule.name,
      gpu: eventGpu(option.offer),
      pod: podFacts(pod),
    });
  }

  private notifyListOf(name: string): string[] {
    return this.deps.config.rules.find((r) => r.name === name)?.notify ?? this.deps.config.resume.find((r) => r.name === name)?.notify ?? [];
  }

  private emit(type: EventType, notify: readonly string[], now: number, fields: Omit<WatcherEvent, 'id' | 'time' | 'dryRun' | 'type'>): void {
    this.deps.store.outbox.append(newEvent({ type, dryRun: this.deps.dryRun, ...fields }, now), notify);
  }
}

/** The key a resume entry watches: its pod's GPU type and cloud at the entry's GPU count. */
function resumeKey(entry: ResumeConfig, pod: Pod): WatchKey {
  return { gpuTypeId: pod.gpuTypeId ?? '', gpuCount: entry.gpuCount, cloud: pod.cloud ?? 'ALL' };
}

/** How a refused deploy is journaled, and what the engine does next (see NextStep). */
function outcomeOf(error: RunpodError): [Exclude<DeployStatus, 'pending' | 'succeeded'>, NextStep] {
  switch (error.kind) {
    case 'capacity':
      return ['refused', 'fall back'];
    case 'unsupported':
      return ['failed', 'fall back'];
    case 'invalid_request':
      return ['failed', 'block'];
    case 'auth':
      return ['failed', 'stop: key'];
    case 'retired':
      return ['failed', 'stop: retired'];
    case 'transient':
    case 'rate_limited':
      // A timeout or reset may have made the pod: wait for the pod list. A failure RunPod never saw
      // is simply tried again next cycle.
      return error.mayHaveReachedRunpod ? ['unknown', 'wait for pod list'] : ['failed', 'next cycle'];
  }
}

/** What RunPod's refusal means, in words, with its (already sanitised) message. */
function refusalWords(outcome: Extract<SendOutcome, { kind: 'failed' }>): string {
  const { error } = outcome;
  switch (error.kind) {
    case 'capacity':
      return `RunPod has no capacity for it (${error.message})`;
    case 'unsupported':
      return error.spotField !== undefined ? `RunPod no longer takes spot (${error.message})` : `RunPod no longer accepts the request (${error.message})`;
    case 'invalid_request':
      return `RunPod refused the request: ${error.message}`;
    case 'auth':
      return `RunPod refused the API key (${error.message})`;
    case 'retired':
      return `RunPod has retired the API (${error.message})`;
    case 'transient':
    case 'rate_limited':
      return outcome.next === 'wait for pod list' ? `no answer (${error.message})` : error.message;
  }
}

/** A fingerprint of a rule's config: a rule blocked by an invalid request wakes when it changes. */
function configHash(rule: RuleConfig): string {
  return createHash('sha256').update(JSON.stringify(rule)).digest('hex').slice(0, 16);
}
