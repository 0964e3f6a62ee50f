/**
 * How fast the loop polls: `base` on `poll.schedule`; `hungry` (`poll.hungry`) while a rule waits
 * for stock; `idle` (`poll.idle`) while no rule can act and no alert is pending.
 */
export const POLL_MODES = ['base', 'hungry', 'idle'] as const;
export type PollMode = (typeof POLL_MODES)[number];

/** What the rules said at the end of a cycle. */
export interface Appetite {
  /** A rule is armed and none of its candidates is deployable: it waits for stock. */
  hungry: boolean;
  /** A rule or resume entry may act on a coming cycle (it is not resting until its pods, deploys or budget change). */
  canAct: boolean;
}

/**
 * The mode a successful poll asks for. A cycle whose rules could not act (no pod list) tells
 * nothing: base, as after a failed poll. Otherwise hungry when a rule waits for stock, idle when
 * nothing can act and no alert is pending, base in between.
 */
export function wantedMode(cycle: { rules: Appetite | undefined; alertsPending: boolean }): PollMode {
  if (cycle.rules === undefined) return 'base';
  if (cycle.rules.hungry) return 'hungry';
  return cycle.rules.canAct || cycle.alertsPending ? 'base' : 'idle';
}
