import type { RuleConfig } from '../config/schema.js';
import type { Pod, PodLifetime } from '../runpod/types.js';
import { configHash, podFacts, type RulesContext } from './context.js';

/** The end of life a rule gives a pod deployed at `at`: `ttl` later, stopped or terminated by `onExpiry`. */
export function lifetimeOf(rule: RuleConfig, at: number): PodLifetime | undefined {
  return rule.ttl === undefined ? undefined : { at: at + rule.ttl, action: rule.onExpiry };
}

/**
 * Starts following a pod just deployed by a rule (with its start timeout and ttl counted from the
 * deploy, `deployedAt`) or resumed by a resume entry (only until ready: `rule` undefined). Nothing
 * is followed in a dry run: no pod was made.
 */
export function startFollowing(ctx: RulesContext, owner: string, pod: Pod, deployId: string, deployedAt: number, rule?: RuleConfig): void {
  if (ctx.dryRun) return;
  ctx.store.lifecycle.track({
    podId: pod.id,
    pod: podFacts(pod),
    rule: owner,
    deployId,
    configHash: rule ? configHash(rule) : '',
    gpuTypeId: pod.gpuTypeId ?? '',
    startedAt: deployedAt,
    startTimeoutMs: rule?.startTimeout ?? null,
    expiresAt: rule ? (lifetimeOf(rule, deployedAt)?.at ?? null) : null,
  });
}
