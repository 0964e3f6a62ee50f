import type { Config, RuleConfig } from '../config/schema.js';
import type { Pod } from '../runpod/types.js';
import type { RuleState } from '../store/repositories.js';
import { emit, type RulesContext } from './context.js';

/** The live pods the budget counts: those the watcher deployed, and the resume entries' pods. */
export function watcherPods(config: Config, live: readonly Pod[]): Pod[] {
  const resumed = new Set(config.resume.map((r) => r.podId));
  return live.filter((p) => p.watcher !== null || resumed.has(p.id));
}

/** What the budget counts now: the watcher's live pods, and their $/hr together. */
export function budgetView(config: Config, live: readonly Pod[]): { pods: number; spend: number } {
  const counted = watcherPods(config, live);
  return { pods: counted.length, spend: counted.reduce((sum, p) => sum + p.costPerHr, 0) };
}

/** Tells `budget.blocked` once per stretch of a rule being held back by the budget. */
export function tellBudget(ctx: RulesContext, rule: RuleConfig, state: RuleState, why: string, now: number): void {
  if (!state.budgetTold) emit(ctx, 'budget.blocked', rule.notify, now, { summary: `${rule.name} held back by the budget: ${why}`, rule: rule.name });
  state.budgetTold = true;
}
