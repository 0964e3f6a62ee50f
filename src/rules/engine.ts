import type { Config, RuleConfig } from '../config/schema.js';
import { keyId, type GpuOffer, type Pod, type Snapshot, type WatchKey } from '../runpod/types.js';
import { memoryNamedState } from '../store/named-state.js';
import type { RuleReport, RuleState } from '../store/repositories.js';
import { budgetView, tellBudget, watcherPods } from './budget.js';
import { configHash, emit, isLive, type RulesContext, type RulesEngineDeps } from './context.js';
import { decideRule, exhaustionReasons, INITIAL_RULE_STATE } from './decide.js';
import { deployFirst, describeSkips, tellExhausted } from './deploy.js';
import { followPods } from './lifecycle.js';
import { reconcile } from './reconcile.js';
import { INITIAL_RESUME_STATE, resumeKey, runResume } from './resume.js';
import { accountSpend } from './spend.js';
import { spentSoFar } from '../store/spend.js';

/** What a cycle's rules say about polling: whether one waits for stock, and whether any can act. */
export interface RulesAppetite {
  hungry: boolean;
  canAct: boolean;
}

/** How one rule's turn went, for the appetite. */
type RuleTurn = 'hungry' | 'active' | 'resting';

/**
 * Carries out the rules and resume entries each cycle: reconciles the deploy journal with the pod
 * list, asks `decideRule` what each rule should do, sends deploys (journaled first) and falls back
 * on refusals, resumes stopped pods, and records every event in the outbox. In a dry run it decides
 * and records the same, sends nothing, and keeps its would-be pods and state in memory.
 */
export class RulesEngine {
  private readonly ctx: RulesContext;
  private resumeKeys: WatchKey[];
  /** The last report per rule, kept for `status` with each cycle. */
  private readonly reports = new Map<string, RuleReport>();
  private lastAppetite: RulesAppetite = { hungry: false, canAct: false };

  constructor(deps: RulesEngineDeps) {
    const { logger, ...rest } = deps;
    const ruleStates = deps.store.states('rule');
    const resumeStates = deps.store.states('resume');
    this.ctx = {
      ...rest,
      log: logger.child({ component: 'rules' }),
      ruleStates: deps.dryRun ? memoryNamedState(ruleStates) : ruleStates,
      resumeStates: deps.dryRun ? memoryNamedState(resumeStates) : resumeStates,
      dryRunPods: [],
      unresolvedSince: new Map(),
      actionSince: new Map(),
      payment: { refusedAt: null },
    };
    this.resumeKeys = deps.store.daemon.resumeKeys.get() ?? [];
    deps.api.spot.onRetired((detail, at) => this.tellSpotRetired(detail, at));
  }

  /**
   * Takes a reloaded config, between cycles. A rule keeps its state (refusals waiting out
   * `retryAfter`, what was told) when its name and candidates are unchanged, and starts afresh
   * otherwise; a resume entry keeps its state while it names the same pod. Removed rules leave
   * the status report.
   */
  reconfigure(config: Config): void {
    const { ctx } = this;
    const now = ctx.clock.now();
    const before = new Map(ctx.config.rules.map((r) => [r.name, r]));
    for (const rule of config.rules) {
      const old = before.get(rule.name);
      if (old && JSON.stringify(old.candidates) !== JSON.stringify(rule.candidates)) ctx.ruleStates.set(rule.name, INITIAL_RULE_STATE, now);
    }
    const pods = new Map(ctx.config.resume.map((e) => [e.name, e.podId]));
    for (const entry of config.resume) {
      const podId = pods.get(entry.name);
      if (podId !== undefined && podId !== entry.podId) ctx.resumeStates.set(entry.name, INITIAL_RESUME_STATE, now);
    }
    const names = new Set(config.rules.map((r) => r.name));
    for (const name of this.reports.keys()) if (!names.has(name)) this.reports.delete(name);
    ctx.config = config;
  }

  /** Whether there is anything to act on (and so a pod list to read each cycle). */
  get active(): boolean {
    return this.ctx.config.rules.length + this.ctx.config.resume.length > 0;
  }

  /** Keys the resume entries need watched: their pods' GPU types, learned from the pod list. */
  extraKeys(): WatchKey[] {
    return this.resumeKeys;
  }

  /** False while RunPod does not serve spot (the client finds it out and keeps it). */
  get spotAvailable(): boolean {
    return this.ctx.api.spot.available;
  }

  /** What the last cycle's decisions say about polling: a rule waiting for stock, or anything able to act. */
  get appetite(): RulesAppetite {
    return this.lastAppetite;
  }

  /** One cycle's actions, on this cycle's snapshot and pod list. */
  async act(snapshot: Snapshot, pods: readonly Pod[], signal: AbortSignal): Promise<void> {
    const { ctx } = this;
    const now = ctx.clock.now();
    this.learnResumeKeys(pods, now);
    reconcile(ctx, pods, now);
    // Spend is accounted before the rules decide, so budget.maxSpend sees this cycle's.
    accountSpend(ctx.store.spend, ctx.config, pods, now);
    const spent = spentSoFar(ctx.store.spend, now);
    // Before the rules: a stuck pod terminated here frees its rule to try its next candidate this cycle.
    const ended = await followPods(ctx, pods, signal);
    // Read once per cycle, after reconciling: a deploy sent later this cycle belongs to a rule or
    // resume entry that has already had its one turn.
    const unresolved = new Map<string, number>();
    for (const d of ctx.store.journal.unresolved()) unresolved.set(d.rule, (unresolved.get(d.rule) ?? 0) + 1);
    const offers = new Map(snapshot.offers.map((o) => [keyId(o.key), o]));
    const live = [...pods.filter((p) => isLive(p) && !ended.has(p.id)), ...ctx.dryRunPods];
    const appetite: RulesAppetite = { hungry: false, canAct: false };
    for (const rule of ctx.config.rules) {
      if (signal.aborted) return;
      const turn = await this.runRule(rule, offers, live, unresolved, spent, signal);
      if (turn === 'hungry') appetite.hungry = true;
      if (turn !== 'resting') appetite.canAct = true;
    }
    // A stopped pod of a resume entry may come back on any cycle.
    if (ctx.config.resume.some((entry) => pods.find((p) => p.id === entry.podId)?.desiredStatus === 'EXITED')) appetite.canAct = true;
    this.lastAppetite = appetite;
    for (const entry of ctx.config.resume) {
      if (signal.aborted) return;
      await runResume(ctx, entry, offers, pods, live, unresolved, spent, signal);
    }
    // Kept for the status document, which `gpu-watcher status` reads from the database while the daemon runs.
    ctx.store.daemon.rulesLastCycle.set({ at: now, reports: [...this.reports.values()], livePods: watcherPods(ctx.config, live) }, now);
  }

  /**
   * One rule's turn: its decision, carried out, reported and its state kept. Says whether the rule
   * waits for stock (`hungry`: no candidate deployable), may act on a coming cycle (`active`: it
   * deployed or tried, or waits for a lost answer), or rests until its pods, deploys or budget change.
   */
  private async runRule(
    rule: RuleConfig,
    offers: ReadonlyMap<string, GpuOffer>,
    live: Pod[],
    unresolved: ReadonlyMap<string, number>,
    spent: { day: number; month: number },
    signal: AbortSignal,
  ): Promise<RuleTurn> {
    const { ctx } = this;
    const now = ctx.clock.now();
    // Spread over the initial state: a state saved by an older version may lack newer fields.
    const state: RuleState = structuredClone({ ...INITIAL_RULE_STATE, ...ctx.ruleStates.get(rule.name) });
    const budget = budgetView(ctx.config, live);
    const decision = decideRule(rule, state, {
      offers,
      volumes: ctx.volumes,
      rulePods: live.filter((p) => p.watcher?.rule === rule.name).length,
      deploys: ctx.store.journal.succeededCount(rule.name) + ctx.dryRunPods.filter((p) => p.watcher?.rule === rule.name).length,
      unresolvedDeploys: unresolved.get(rule.name) ?? 0,
      endedPods: rule.afterEnd === 'rest' ? ctx.store.lifecycle.endedBy(rule.name, configHash(rule)).length : 0,
      budgetPods: budget.pods,
      budgetSpend: budget.spend,
      spent,
      budget: ctx.config.budget,
      spotAvailable: this.spotAvailable,
      configHash: configHash(rule),
      now,
    });
    const report = (outcome: RuleReport['outcome'], detail: string): void => void this.reports.set(rule.name, { rule: rule.name, at: now, outcome, detail });
    let turn: RuleTurn = 'resting';
    switch (decision.kind) {
      case 'rest':
        if (decision.reason === 'unresolved deploy') turn = 'active';
        report('resting', `${decision.reason}: ${decision.detail}`);
        ctx.log.debug({ rule: rule.name, reason: decision.reason, detail: decision.detail }, 'rule rests');
        if (decision.reason === 'max pods' || decision.reason === 'max deploys' || decision.reason === 'ended') {
          state.exhausted = null;
          state.budgetTold = false;
        }
        if (decision.reason === 'budget pods' || decision.reason === 'budget spend') tellBudget(ctx, rule, state, decision.detail, now);
        break;
      case 'over budget':
        report('over budget', describeSkips(decision.skipped));
        tellBudget(ctx, rule, state, describeSkips(decision.skipped.filter((s) => s.reason === 'budget')), now);
        break;
      case 'exhausted':
        turn = 'hungry';
        report('exhausted', describeSkips(decision.skipped));
        tellExhausted(ctx, rule, state, exhaustionReasons(decision.skipped, [], state.exhausted), describeSkips(decision.skipped), now);
        break;
      case 'deploy': {
        state.budgetTold = false;
        const result = await deployFirst(ctx, rule, state, decision.options, decision.skipped, live, signal);
        report(result.outcome, result.detail);
        turn = result.outcome === 'exhausted' ? 'hungry' : 'active';
        break;
      }
    }
    ctx.ruleStates.set(rule.name, state, now);
    return turn;
  }

  private learnResumeKeys(pods: readonly Pod[], now: number): void {
    const keys: WatchKey[] = [];
    for (const entry of this.ctx.config.resume) {
      const pod = pods.find((p) => p.id === entry.podId);
      if (pod?.gpuTypeId) keys.push(resumeKey(entry, pod));
    }
    if (JSON.stringify(keys) === JSON.stringify(this.resumeKeys)) return;
    this.resumeKeys = keys;
    this.ctx.store.daemon.resumeKeys.set(keys, now);
  }

  /** Told once per retirement (the client keeps it, across restarts), to every notifier. */
  private tellSpotRetired(detail: string, now: number): void {
    emit(this.ctx, 'spot.unavailable', Object.keys(this.ctx.config.notifiers), now, {
      summary: 'RunPod no longer offers spot pods: rules go on with on-demand where they allow it; spot-only rules and bid resumes wait (checked again daily)',
      details: { detail },
    });
  }
}
