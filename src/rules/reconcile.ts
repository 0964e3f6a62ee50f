import type { Config } from '../config/schema.js';
import { usd } from '../lib/format.js';
import type { Pod } from '../runpod/types.js';
import { emit, isLive, podFacts, type RulesContext } from './context.js';
import { startFollowing } from './follow.js';

/** How long a deploy whose answer was lost may still show up in the pod list before it counts as not made. */
export const UNKNOWN_DEPLOY_GRACE_MS = 10 * 60_000;

/**
 * Settles journaled deploys whose answer was lost: a pod carrying the deploy's id means it was
 * made; none after the grace period means it was not. The grace ends only when it has passed
 * both on the wall clock (since the journal entry, which survives restarts) and on the monotonic
 * clock (since this process journaled the deploy or first found it unresolved): a wall clock
 * jumping forward must not let a rule deploy again while the first deploy may still show up.
 * After a restart the wait starts over, which errs on the side of not deploying twice.
 */
export function reconcile(ctx: RulesContext, pods: readonly Pod[], now: number): void {
  const mono = ctx.clock.monotonic();
  const unresolved = ctx.store.journal.unresolved();
  // Only the entries still unresolved are remembered, each since it was first seen.
  const since = new Map(unresolved.map((entry) => [entry.id, ctx.unresolvedSince.get(entry.id) ?? mono]));
  ctx.unresolvedSince.clear();
  for (const [id, at] of since) ctx.unresolvedSince.set(id, at);
  for (const entry of unresolved) {
    const resume = entry.kind === 'resume' || entry.kind === 'bid-resume';
    const pod = resume ? pods.find((p) => p.id === entry.podId && isLive(p)) : pods.find((p) => p.watcher?.deployId === entry.id);
    if (pod) {
      ctx.store.journal.complete(entry.id, 'succeeded', now, { podId: pod.id });
      const rule = ctx.config.rules.find((r) => r.name === entry.rule);
      startFollowing(ctx, entry.rule, pod, entry.id, resume ? now : entry.createdAt, resume ? undefined : rule);
      ctx.log.info({ deploy: entry.id, pod: pod.id }, 'a deploy whose answer was lost did make its pod');
      const notify = notifyListOf(ctx.config, entry.rule);
      if (resume) {
        emit(ctx, 'pod.resumed', notify, now, { summary: `${entry.rule} resumed pod ${pod.id} (confirmed from the pod list)`, rule: entry.rule, pod: podFacts(pod) });
      } else {
        emit(ctx, 'pod.deployed', notify, now, {
          summary: `${entry.rule} deployed ${entry.gpuTypeId} x${entry.gpuCount} ${entry.kind} at ${usd(entry.price)}/GPU/hr (pod ${pod.id}; confirmed from the pod list)`,
          rule: entry.rule,
          pod: podFacts(pod),
        });
      }
    } else if (now - entry.createdAt >= UNKNOWN_DEPLOY_GRACE_MS && mono - (ctx.unresolvedSince.get(entry.id) ?? mono) >= UNKNOWN_DEPLOY_GRACE_MS) {
      ctx.store.journal.complete(entry.id, 'failed', now, { error: `${entry.error ?? 'no answer'}; no pod carries this deploy after ${UNKNOWN_DEPLOY_GRACE_MS / 60_000} min` });
      ctx.log.warn({ deploy: entry.id, rule: entry.rule }, 'a deploy whose answer was lost made no pod; the rule may deploy again');
    }
  }
}

/** The notifiers of the rule or resume entry a journal entry belongs to. */
function notifyListOf(config: Config, name: string): string[] {
  return config.rules.find((r) => r.name === name)?.notify ?? config.resume.find((r) => r.name === name)?.notify ?? [];
}
