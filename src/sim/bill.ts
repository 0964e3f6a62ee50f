import type { PodStatus, SimPod } from './pod.js';

// What the simulated account is billed for each pod: its costPerHr over the time it spends in a
// billed state, on the simulator's clock. Tests hold the watcher's spend against it.

/** The states a pod is billed in: from the deploy or resume until it stops. */
const BILLED: ReadonlySet<PodStatus> = new Set(['CREATED', 'RUNNING', 'RESTARTING']);

const HOUR_MS = 3_600_000;

/**
 * Closes the billed stretch a pod is in, if any, at `now`: its cost so far moves into `billed`.
 * Called before every status change, while the pod still has the rate it ran at.
 */
export function settleBill(pod: SimPod, now: number): void {
  pod.billed = billOf(pod, now);
}

/** Dollars the pod has cost up to `now`: what was settled, and the stretch it is billed in. */
export function billOf(pod: SimPod, now: number): number {
  const open = BILLED.has(pod.desiredStatus) ? (pod.costPerHr * Math.max(0, now - pod.statusChangedAt)) / HOUR_MS : 0;
  return (pod.billed ?? 0) + open;
}
