import { randomBytes } from 'node:crypto';
import { RunpodError } from '../runpod/errors.js';
import type { Pod } from '../runpod/types.js';
import type { DeployRecord, DeployStatus } from '../store/deploy-journal.js';
import type { RulesContext } from './context.js';
import { paymentAccepted } from './payment.js';

/**
 * What the engine does after RunPod failed a deploy: try the next candidate (capacity, no access to
 * the GPU pool, or a field RunPod no longer takes), block the rule until its config changes (invalid request, or a balance
 * too low to pay), wait for the pod list (no answer: the pod may exist), stop deploying (key
 * refused, API retired), or simply try again next cycle (RunPod never saw the request).
 */
type NextStep = 'fall back' | 'block' | 'wait for funds' | 'wait for pod list' | 'stop: key' | 'stop: retired' | 'next cycle';

/** How sending one deploy or resume failed, and what comes next. */
export type SendFailure = { kind: 'failed'; error: RunpodError; next: NextStep };

/** The outcome of sending one deploy or resume. */
export type SendOutcome = { kind: 'done'; pod: Pod } | SendFailure | { kind: 'aborted' };

/** A fresh deploy id: the journal's key, and the marker the pod carries in its env. */
export function newDeployId(): string {
  return `dep_${randomBytes(10).toString('hex')}`;
}

/**
 * Writes the journal entry (committed before anything is sent), sends, and completes the entry
 * with the outcome. A dry run completes it with the would-be pod and sends nothing.
 */
export async function journaled(
  ctx: RulesContext,
  entry: Pick<DeployRecord, 'id' | 'rule' | 'gpuTypeId' | 'gpuCount' | 'cloud' | 'kind' | 'price'> & { podId?: string },
  mutation: () => Promise<Pod>,
  wouldBe: () => Pod,
  signal: AbortSignal,
): Promise<SendOutcome> {
  const { journal } = ctx.store;
  journal.begin({ ...entry, dryRun: ctx.dryRun, createdAt: ctx.clock.now() });
  ctx.unresolvedSince.set(entry.id, ctx.clock.monotonic());
  if (ctx.dryRun) {
    const pod = wouldBe();
    journal.complete(entry.id, 'succeeded', ctx.clock.now(), { podId: pod.id });
    ctx.dryRunPods.push(pod);
    return { kind: 'done', pod };
  }
  try {
    const pod = await mutation();
    ctx.auth.accept('write');
    paymentAccepted(ctx, ctx.clock.now());
    journal.complete(entry.id, 'succeeded', ctx.clock.now(), { podId: pod.id });
    return { kind: 'done', pod };
  } catch (error) {
    const now = ctx.clock.now();
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

/** How a refused deploy is journaled, and what the engine does next (see NextStep). */
function outcomeOf(error: RunpodError): [Exclude<DeployStatus, 'pending' | 'succeeded'>, NextStep] {
  switch (error.kind) {
    case 'capacity':
    case 'no_access':
      return ['refused', 'fall back'];
    case 'unsupported':
      return ['failed', 'fall back'];
    case 'invalid_request':
      return ['failed', 'block'];
    case 'payment':
      // The balance cannot pay for any candidate: waiting sends nothing more that would be refused
      // the same way.
      return ['failed', 'wait for funds'];
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
