import type { RuleConfig } from '../config/schema.js';
import { eventGpu } from '../events/event.js';
import { usd } from '../lib/format.js';
import { RunpodError } from '../runpod/errors.js';
import type { Pod } from '../runpod/types.js';
import { emit, podFacts, type RulesContext } from './context.js';
import type { DeployOption } from './decide.js';

// REST v2 takes no deployCost ceiling: RunPod may make a pod dearer than the offer we read. The
// user's maxPrice stays a hard limit by checking the made pod's price and stopping it at once.

/** What the price check made of a fresh pod: within the ceiling, stopped, or over it and still running. */
export type PriceCheck = 'ok' | 'stopped' | 'stop failed';

/** Float noise on a price RunPod computed is not "over". */
const EPSILON = 1e-9;

/**
 * Checks a pod a deploy just made against the candidate's ceiling (maxPrice × gpuCount). A dearer
 * pod is stopped through the same API, its journal entry becomes `refused` (it is no success: it
 * neither counts toward maxDeploys nor toward the budget), and `pod.over_price` is told. When the
 * stop itself fails the pod runs on: the journal keeps it as a success and the event says so.
 */
export async function checkPrice(ctx: RulesContext, rule: RuleConfig, option: DeployOption, deployId: string, pod: Pod, signal: AbortSignal): Promise<PriceCheck> {
  const ceiling = option.deployCost;
  // Spot pods pay the bid; a dry run made nothing.
  if (ctx.dryRun || option.kind !== 'on-demand' || ceiling === undefined || pod.costPerHr <= ceiling + EPSILON) return 'ok';
  const over = `RunPod made pod ${pod.id} at ${usd(pod.costPerHr)}/hr, above the ceiling of ${usd(ceiling)}/hr (maxPrice ${usd(ceiling / rule.gpuCount)} × ${rule.gpuCount} GPU)`;
  let stopError: string | null = null;
  try {
    await ctx.api.stopPod(pod.id, { signal });
  } catch (error) {
    if (!(error instanceof RunpodError)) throw error;
    stopError = error.message;
  }
  const now = ctx.clock.now();
  if (stopError === null) ctx.store.journal.complete(deployId, 'refused', now, { podId: pod.id, error: `over price: ${over}` });
  const what = stopError === null ? `stopped it; ${option.gpuTypeId} is skipped for now` : `could NOT stop it (${stopError}): stop it by hand`;
  ctx.log.error({ rule: rule.name, pod: pod.id, gpu: option.gpuTypeId, costPerHr: pod.costPerHr, ceiling }, `over price: ${over}; ${what}`);
  emit(ctx, 'pod.over_price', rule.notify, now, {
    summary: `${rule.name}: ${over}; ${what}`,
    rule: rule.name,
    gpu: eventGpu(option.offer),
    pod: podFacts(pod),
    details: { candidate: option.gpuTypeId, costPerHr: pod.costPerHr, ceiling, stopped: stopError === null, ...(stopError !== null ? { stopError } : {}) },
  });
  return stopError === null ? 'stopped' : 'stop failed';
}
