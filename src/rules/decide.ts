import { keyId, stockRank, type GpuOffer } from '../runpod/types.js';
import type { RuleConfig } from '../config/schema.js';
import { candidateKey, NO_VOLUMES, type VolumeDataCenters } from '../config/watched-keys.js';
import { perGpuHour, usd } from '../lib/format.js';
import type { ExhaustionReasons, RuleState } from '../store/repositories.js';

/** A rule's state before its first cycle. */
export const INITIAL_RULE_STATE: RuleState = { retryUntil: {}, exhausted: null, budgetTold: false, blocked: null };

/** Everything outside the rule that a decision depends on, at one instant. */
export interface RuleContext {
  /** This cycle's offers, by `keyId`. */
  offers: ReadonlyMap<string, GpuOffer>;
  /** The network volumes' data centers (absent: none known): a candidate's offer is the one for the machine its pod needs. */
  volumes?: VolumeDataCenters;
  /** Live pods of this rule (RUNNING or CREATED), including any deployed earlier this cycle. */
  rulePods: number;
  /** Successful deploys of this rule over its life. */
  deploys: number;
  /** Deploys of this rule whose outcome is not yet known (answer lost, pod not yet seen). */
  unresolvedDeploys: number;
  /** Pods the watcher ended for this rule (ttl or idle) under its current config, when `afterEnd` is `rest`; else 0. */
  endedPods: number;
  /** Live pods and their $/hr across everything the watcher deployed or resumed. */
  budgetPods: number;
  budgetSpend: number;
  /** Dollars the watcher's pods cost so far this UTC day and month (budget.maxSpend). */
  spent: { day: number; month: number };
  budget: Budget;
  /** False once RunPod has retired spot. */
  spotAvailable: boolean;
  configHash: string;
  now: number;
}

/** One way to deploy a candidate, in the order to try them. */
export interface DeployOption {
  candidate: number;
  gpuTypeId: string;
  offer: GpuOffer;
  kind: 'spot' | 'on-demand';
  /** $/GPU/hr: the bid for spot, RunPod's on-demand price otherwise. */
  pricePerGpu: number;
  /** Expected $/hr of the whole pod, for the budget. */
  costPerHr: number;
  /** Spot: the bid per GPU. On-demand: the whole-pod ceiling, maxPrice × gpuCount. */
  bidPerGpu?: number;
  deployCost?: number;
  /** For a spot option: the on-demand way to deploy the same candidate, if the rule allows it. */
  onDemand?: DeployOption;
}

/** Why a candidate was not tried. */
export interface Skip {
  candidate: number;
  gpuTypeId: string;
  reason: 'no data' | 'stock' | 'count' | 'retry window' | 'price' | 'budget';
  detail: string;
}

/**
 * The reasons a rule has nothing to deploy: each skipped candidate's reason, and `refused` for each
 * candidate RunPod refused this cycle. A candidate with no data this cycle keeps the reason it had
 * when last told: not knowing is no new reason.
 */
export function exhaustionReasons(skipped: readonly Skip[], refused: readonly string[], previous: ExhaustionReasons | null): ExhaustionReasons {
  const reasons: ExhaustionReasons = {};
  for (const skip of skipped) {
    reasons[skip.gpuTypeId] = skip.reason === 'retry window' ? 'refused' : skip.reason === 'no data' ? (previous?.[skip.gpuTypeId] ?? 'no data') : skip.reason;
  }
  for (const gpu of refused) reasons[gpu] = 'refused';
  return reasons;
}

/** Whether the reasons differ from those last told (nothing told yet counts as a change). */
export function reasonsChanged(before: ExhaustionReasons | null, after: ExhaustionReasons): boolean {
  if (before === null) return true;
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].some((k) => before[k] !== after[k]);
}

/** The outcome for one rule in one cycle. */
export type RuleDecision =
  | { kind: 'rest'; reason: 'blocked' | 'max pods' | 'max deploys' | 'ended' | 'unresolved deploy' | 'budget pods' | 'budget spend'; detail: string }
  | { kind: 'deploy'; options: DeployOption[]; skipped: Skip[] }
  | { kind: 'exhausted'; skipped: Skip[] }
  | { kind: 'over budget'; skipped: Skip[] };

/** A budget as the config gives it. */
export type Budget = { maxPods?: number | undefined; maxHourlySpend?: number | undefined; maxSpend?: { day?: number | undefined; month?: number | undefined } | undefined } | undefined;

/** Whether one more pod would pass budget.maxPods. */
export function overPodBudget(budget: Budget, pods: number): boolean {
  return budget?.maxPods !== undefined && pods + 1 > budget.maxPods;
}

/** Which of budget.maxSpend's limits the spend so far has reached, worded; undefined when none. */
export function spendReached(budget: Budget, spent: { day: number; month: number }): string | undefined {
  const limits = budget?.maxSpend;
  if (limits?.day !== undefined && spent.day >= limits.day) return `${usd(spent.day)} spent today (UTC), budget.maxSpend.day ${usd(limits.day)}`;
  if (limits?.month !== undefined && spent.month >= limits.month) return `${usd(spent.month)} spent this month (UTC), budget.maxSpend.month ${usd(limits.month)}`;
  return undefined;
}

/** Whether `costPerHr` more would pass budget.maxHourlySpend (a float rounding's width is allowed). */
export function overSpendBudget(budget: Budget, spend: number, costPerHr: number): boolean {
  return budget?.maxHourlySpend !== undefined && spend + costPerHr > budget.maxHourlySpend + 1e-9;
}

function onDemandOption(rule: RuleConfig, index: number, offer: GpuOffer): DeployOption | undefined {
  const candidate = rule.candidates[index];
  if (!candidate || rule.spot === 'only' || candidate.maxPrice === undefined) return undefined;
  const price = offer.onDemandPrice;
  if (price === null || price > candidate.maxPrice) return undefined;
  return {
    candidate: index,
    gpuTypeId: candidate.gpu,
    offer,
    kind: 'on-demand',
    pricePerGpu: price,
    costPerHr: price * rule.gpuCount,
    deployCost: candidate.maxPrice * rule.gpuCount,
  };
}

function spotOption(rule: RuleConfig, index: number, offer: GpuOffer, spotAvailable: boolean): DeployOption | undefined {
  const candidate = rule.candidates[index];
  if (!candidate || !spotAvailable || rule.spot === 'never' || candidate.bid === undefined) return undefined;
  if (offer.minBidPrice === null || offer.minBidPrice > candidate.bid) return undefined;
  return { candidate: index, gpuTypeId: candidate.gpu, offer, kind: 'spot', pricePerGpu: candidate.bid, costPerHr: candidate.bid * rule.gpuCount, bidPerGpu: candidate.bid };
}

/**
 * Decides what one rule does this cycle (README "Rules that deploy"). Pure: no I/O, no clock.
 *
 * The rule rests, in this order of precedence, when:
 *
 * | condition                                             | rest reason        |
 * | ----------------------------------------------------- | ------------------ |
 * | RunPod refused its request as invalid, config unchanged | blocked          |
 * | a deploy's outcome is still unknown                   | unresolved deploy  |
 * | live pods of the rule >= maxPods                      | max pods           |
 * | deploys over its life >= maxDeploys                   | max deploys        |
 * | a pod of it ended for ttl or idleness (afterEnd rest) | ended              |
 * | watcher pods + 1 > budget.maxPods                     | budget pods        |
 * | spend today or this month (UTC) >= budget.maxSpend    | budget spend       |
 *
 * Otherwise each candidate, in order, is skipped when: its key has no data this cycle; its stock
 * is below minStock (None, null, "" and unknown words rank lowest); availableGpuCounts is given and
 * lacks gpuCount; it is inside its retryAfter window; neither price condition holds; or its cost
 * would take the watcher past budget.maxHourlySpend. A candidate that passes is deployed spot when
 * it has a bid, spot is not "never", spot is still offered and minBidPrice <= bid; otherwise
 * on-demand when spot is not "only" and onDemandPrice <= maxPrice. The result lists every
 * candidate that passed, in order, for the executor to try until one deploys.
 */
export function decideRule(rule: RuleConfig, state: RuleState, ctx: RuleContext): RuleDecision {
  if (state.blocked && state.blocked.configHash === ctx.configHash) return { kind: 'rest', reason: 'blocked', detail: state.blocked.reason };
  if (ctx.unresolvedDeploys > 0) return { kind: 'rest', reason: 'unresolved deploy', detail: 'waiting to learn whether the last deploy made a pod' };
  if (ctx.rulePods >= rule.maxPods) return { kind: 'rest', reason: 'max pods', detail: `${ctx.rulePods} live pod(s), maxPods ${rule.maxPods}` };
  if (rule.maxDeploys !== undefined && ctx.deploys >= rule.maxDeploys) {
    return { kind: 'rest', reason: 'max deploys', detail: `${ctx.deploys} deploy(s) made, maxDeploys ${rule.maxDeploys}` };
  }
  if (ctx.endedPods > 0) {
    return { kind: 'rest', reason: 'ended', detail: `${ctx.endedPods} pod(s) ended for their ttl or idleness; afterEnd is rest (change the rule, or set afterEnd: replace, to deploy again)` };
  }
  if (overPodBudget(ctx.budget, ctx.budgetPods)) {
    return { kind: 'rest', reason: 'budget pods', detail: `the watcher has ${ctx.budgetPods} live pod(s), budget.maxPods ${ctx.budget?.maxPods}` };
  }
  const reached = spendReached(ctx.budget, ctx.spent);
  if (reached) return { kind: 'rest', reason: 'budget spend', detail: reached };

  const options: DeployOption[] = [];
  const skipped: Skip[] = [];
  rule.candidates.forEach((candidate, index) => {
    const skip = (reason: Skip['reason'], detail: string): void => void skipped.push({ candidate: index, gpuTypeId: candidate.gpu, reason, detail });
    const offer = ctx.offers.get(keyId(candidateKey(rule, candidate.gpu, ctx.volumes ?? NO_VOLUMES)));
    if (!offer) return skip('no data', 'no answer from RunPod for it this cycle');
    if (stockRank(offer.stock) < stockRank(rule.minStock)) return skip('stock', `stock ${offer.stock}, minStock ${rule.minStock}`);
    if (offer.availableGpuCounts !== null && !offer.availableGpuCounts.includes(rule.gpuCount)) {
      return skip('count', `${rule.gpuCount} GPU(s) not deployable (available: ${offer.availableGpuCounts.join(',') || 'none'})`);
    }
    const until = state.retryUntil[candidate.gpu];
    if (until !== undefined && until > ctx.now) return skip('retry window', `refused by RunPod; retried after ${new Date(until).toISOString()}`);
    const onDemand = onDemandOption(rule, index, offer);
    const spot = spotOption(rule, index, offer, ctx.spotAvailable);
    const option = spot ? (onDemand ? { ...spot, onDemand } : spot) : onDemand;
    if (!option) {
      const prices = `on-demand ${perGpuHour(offer.onDemandPrice, 'none')}, min bid ${perGpuHour(offer.minBidPrice, 'none')}`;
      return skip('price', `${prices}; maxPrice ${perGpuHour(candidate.maxPrice, '-')}, bid ${perGpuHour(candidate.bid, '-')}`);
    }
    if (overSpendBudget(ctx.budget, ctx.budgetSpend, option.costPerHr)) {
      return skip('budget', `${usd(option.costPerHr)}/hr on top of ${usd(ctx.budgetSpend)}/hr passes budget.maxHourlySpend ${usd(ctx.budget?.maxHourlySpend ?? 0)}/hr`);
    }
    options.push(option);
  });

  if (options.length > 0) return { kind: 'deploy', options, skipped };
  if (skipped.some((s) => s.reason === 'budget')) return { kind: 'over budget', skipped };
  return { kind: 'exhausted', skipped };
}
