import { RunpodError } from '../runpod/errors.js';
import type { Pod } from '../runpod/types.js';
import type { LifecycleAction, LifecycleReason, LifecycleRecord } from '../store/repositories.js';
import { isLive, type RulesContext } from './context.js';

// A lifecycle action (stop or terminate a pod) is journaled like a deploy: the intent is committed
// before the call is sent and the outcome after, so that a crash or a lost answer at any instant
// neither leaves the pod running nor acts on it twice.

/**
 * How long a pending action whose pod still shows unchanged is waited for before it is sent again:
 * the first call may still be on its way. It must pass on the wall clock since the intent and on
 * the monotonic clock since this process sent it or first saw it pending (as for deploys).
 */
const ACTION_GRACE_MS = 2 * 60_000;

/** How an action came out: done, failed (RunPod refused it: tried again later), or unknown (no answer: settled from the pod list). */
export type ActionOutcome = { kind: 'done' } | { kind: 'failed'; error: string } | { kind: 'unknown' };

/** Whether the pod list shows the action as done: a terminated pod is gone, a stopped one no longer live. */
export function actionDone(action: LifecycleAction, pod: Pod | undefined): boolean {
  return action === 'terminate' ? pod === undefined : pod === undefined || !isLive(pod);
}

/**
 * Journals the action, then sends it. The caller tells the outcome (and completes the entry with
 * it, in one transaction with its event) when it is known.
 */
export async function sendAction(ctx: RulesContext, podId: string, action: LifecycleAction, reason: LifecycleReason, signal: AbortSignal): Promise<ActionOutcome> {
  ctx.store.lifecycle.beginAction(podId, action, reason, ctx.clock.now());
  ctx.actionSince.set(podId, ctx.clock.monotonic());
  try {
    if (action === 'stop') await ctx.api.stopPod(podId, { signal });
    else await ctx.api.terminatePod(podId, { signal });
    return { kind: 'done' };
  } catch (error) {
    if (signal.aborted) return { kind: 'unknown' };
    if (!(error instanceof RunpodError)) throw error;
    // A timeout or reset may have reached RunPod: the pod list settles it.
    if (error.mayHaveReachedRunpod && (error.kind === 'transient' || error.kind === 'rate_limited')) return { kind: 'unknown' };
    ctx.store.lifecycle.completeAction(podId, 'failed', ctx.clock.now());
    ctx.log.warn({ pod: podId, action, reason, kind: error.kind, detail: error.message }, `could not ${action} the pod; tried again next cycle`);
    return { kind: 'failed', error: error.message };
  }
}

/**
 * A pending action's state from this cycle's pod list: `done` when the pod shows it done, `resend`
 * once the grace has passed with the pod unchanged, `wait` before that.
 */
export function pendingState(ctx: RulesContext, record: LifecycleRecord, pod: Pod | undefined, now: number): 'done' | 'resend' | 'wait' {
  if (record.action === null || actionDone(record.action, pod)) return 'done';
  const mono = ctx.clock.monotonic();
  const since = ctx.actionSince.get(record.podId) ?? mono;
  ctx.actionSince.set(record.podId, since);
  const wall = now - (record.actionAt ?? now);
  return wall >= ACTION_GRACE_MS && mono - since >= ACTION_GRACE_MS ? 'resend' : 'wait';
}
