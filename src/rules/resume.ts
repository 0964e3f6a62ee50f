import type { ResumeConfig } from '../config/schema.js';
import { eventGpu } from '../events/event.js';
import { usd } from '../lib/format.js';
import { keyId, type GpuOffer, type Pod, type WatchKey } from '../runpod/types.js';
import type { DeployKind } from '../store/deploy-journal.js';
import type { ResumeState } from '../store/repositories.js';
import { budgetView } from './budget.js';
import { emit, podFacts, type RulesContext } from './context.js';
import { overPodBudget, overSpendBudget, spendReached } from './decide.js';
import { awaitingFunds, paymentRefused } from './payment.js';
import { startFollowing } from './follow.js';
import { journaled, newDeployId } from './send.js';

/** How long a resume entry waits after RunPod refused to resume its pod. */
const RESUME_RETRY_MS = 5 * 60_000;

/** A resume entry's state before its first turn (or after it names another pod). */
export const INITIAL_RESUME_STATE: ResumeState = { retryUntil: 0, missingTold: false, budgetTold: false };

/** The key a resume entry watches: its pod's GPU type and cloud at the entry's GPU count. */
export function resumeKey(entry: ResumeConfig, pod: Pod): WatchKey {
  return { gpuTypeId: pod.gpuTypeId ?? '', gpuCount: entry.gpuCount, cloud: pod.cloud ?? 'ALL' };
}

/**
 * One resume entry's turn: resumes its pod (on-demand, or at its bid) when the pod is stopped, its
 * GPU is in stock at the entry's count (and the bid is high enough), the budget allows it, and no
 * earlier resume is still unsettled. A refusal waits `RESUME_RETRY_MS`. A resumed pod joins `live`.
 */
export async function runResume(
  ctx: RulesContext,
  entry: ResumeConfig,
  offers: ReadonlyMap<string, GpuOffer>,
  pods: readonly Pod[],
  live: Pod[],
  unresolved: ReadonlyMap<string, number>,
  spent: { day: number; month: number },
  signal: AbortSignal,
): Promise<void> {
  const now = ctx.clock.now();
  const state: ResumeState = ctx.resumeStates.get(entry.name) ?? { ...INITIAL_RESUME_STATE };
  const save = (): void => ctx.resumeStates.set(entry.name, state, now);
  const pod = pods.find((p) => p.id === entry.podId);
  if (!pod) {
    if (!state.missingTold) ctx.log.warn({ resume: entry.name, podId: entry.podId }, 'RunPod lists no such pod; this resume entry waits for it');
    state.missingTold = true;
    return save();
  }
  state.missingTold = false;
  const resumedInDryRun = ctx.dryRunPods.some((p) => p.id === pod.id);
  if (pod.desiredStatus !== 'EXITED' || resumedInDryRun || state.retryUntil > now || !(ctx.dryRun || ctx.auth.open) || awaitingFunds(ctx)) return save();
  if (unresolved.has(entry.name)) return save();
  const offer = pod.gpuTypeId ? offers.get(keyId(resumeKey(entry, pod))) : undefined;
  if (!offer || offer.stock === 'None' || (offer.availableGpuCounts !== null && !offer.availableGpuCounts.includes(entry.gpuCount))) return save();
  const bid = entry.bid;
  if (bid !== undefined && (!ctx.api.spot.available || (offer.minBidPrice !== null && offer.minBidPrice > bid))) return save();
  const price = bid ?? offer.onDemandPrice ?? pod.costPerHr / Math.max(1, pod.gpuCount);
  const budget = budgetView(ctx.config, live);
  const limits = ctx.config.budget;
  const reached = spendReached(limits, spent);
  if (reached || overPodBudget(limits, budget.pods) || overSpendBudget(limits, budget.spend, price * entry.gpuCount)) {
    if (!state.budgetTold) {
      const why = reached ?? `resuming pod ${pod.id} would pass it`;
      emit(ctx, 'budget.blocked', entry.notify, now, { summary: `${entry.name} held back by the budget: ${why}`, rule: entry.name, gpu: eventGpu(offer) });
    }
    state.budgetTold = true;
    return save();
  }
  state.budgetTold = false;
  const kind: DeployKind = bid === undefined ? 'resume' : 'bid-resume';
  const deployId = newDeployId();
  const outcome = await journaled(
    ctx,
    { id: deployId, rule: entry.name, gpuTypeId: offer.key.gpuTypeId, gpuCount: entry.gpuCount, cloud: offer.key.cloud, kind, price, podId: pod.id },
    () => (bid === undefined ? ctx.api.resumePod({ podId: pod.id, gpuCount: entry.gpuCount }, { signal }) : ctx.api.bidResumePod({ podId: pod.id, gpuCount: entry.gpuCount, bidPerGpu: bid }, { signal })),
    () => ({ ...pod, desiredStatus: 'RUNNING', costPerHr: price * entry.gpuCount }),
    signal,
  );
  const after = ctx.clock.now();
  if (outcome.kind === 'done') {
    live.push(outcome.pod);
    startFollowing(ctx, entry.name, outcome.pod, deployId, now);
    emit(ctx, 'pod.resumed', entry.notify, after, {
      summary: `${entry.name} resumed pod ${pod.id} (${offer.key.gpuTypeId} x${entry.gpuCount}) ${bid === undefined ? 'on-demand' : `at a bid of ${usd(bid)}/GPU/hr`}${ctx.dryRun ? ' (dry run: nothing was sent)' : ''}`,
      rule: entry.name,
      gpu: eventGpu(offer),
      pod: podFacts(outcome.pod),
    });
  } else if (outcome.kind === 'failed' && outcome.error.kind === 'capacity') {
    state.retryUntil = after + RESUME_RETRY_MS;
    ctx.log.info({ resume: entry.name, podId: pod.id, detail: outcome.error.message }, 'resume refused; trying again later');
  } else if (outcome.kind === 'failed') {
    if (outcome.next === 'stop: key') ctx.auth.refuse(outcome.error.message, 'write');
    if (outcome.next === 'wait for funds') paymentRefused(ctx, outcome.error.message, after);
    state.retryUntil = after + RESUME_RETRY_MS;
    ctx.log.warn({ resume: entry.name, podId: pod.id, kind: outcome.error.kind, detail: outcome.error.message }, 'resume failed');
  }
  return save();
}
