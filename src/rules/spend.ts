import type { Config } from '../config/schema.js';
import { utcDay } from '../lib/utc-day.js';
import type { Pod } from '../runpod/types.js';
import type { PodAccount, SpendRepository } from '../store/repositories.js';
import { watcherPods } from './budget.js';

// Real spend: what the watcher's pods cost, accrued between observations of the pod list
// (docs/configuration.md, "Spend"). Days and months are UTC.

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Without RunPod's time of a pod's last status change (REST v2 gives none), a pod billed at both
 * ends of a gap is counted across it only when the gap is at most this long: across a longer one
 * (the daemon down, polls failing for long) it may have stopped and started again unseen.
 */
export const UNTIMED_GAP_MS = HOUR_MS;

/** The states RunPod bills a pod in: from its deploy or resume until it stops. */
const BILLED: ReadonlySet<Pod['desiredStatus']> = new Set(['CREATED', 'RUNNING', 'RESTARTING', 'PROVISIONING', 'STARTING']);

/** A stretch of time a pod was billed at one rate. */
interface Stretch {
  from: number;
  to: number;
  costPerHr: number;
}

/**
 * The stretches a pod was billed in since it was last accounted (`before`), seen now as `pod`:
 *
 * - first sight: from RunPod's status time when the watcher deployed it and it is billed; a pod
 *   the watcher did not make (a resume entry's) counts from the first time it is seen;
 * - RunPod's status time within the gap: billed up to it when it was billed before, from it when
 *   it is billed now (stopped and started again inside the gap counts the whole gap);
 * - no change within the gap: the whole gap when billed, however long;
 * - no status time: the whole gap when billed at both ends and the gap is at most UNTIMED_GAP_MS.
 */
export function billedStretches(before: PodAccount | undefined, pod: Pod, now: number): Stretch[] {
  const billed = BILLED.has(pod.desiredStatus);
  const changed = pod.statusChangedAt === undefined ? undefined : Math.min(pod.statusChangedAt, now);
  if (!before) return billed && pod.watcher !== null && changed !== undefined ? [{ from: changed, to: now, costPerHr: pod.costPerHr }] : [];
  const from = before.seenAt;
  if (now <= from) return [];
  if (changed === undefined) return before.billed && billed && now - from <= UNTIMED_GAP_MS ? [{ from, to: now, costPerHr: pod.costPerHr }] : [];
  if (changed <= from) return billed ? [{ from, to: now, costPerHr: pod.costPerHr }] : [];
  const stretches: Stretch[] = [];
  if (before.billed) stretches.push({ from, to: changed, costPerHr: before.costPerHr });
  if (billed) stretches.push({ from: changed, to: now, costPerHr: pod.costPerHr });
  return stretches;
}

/** A stretch's dollars on each UTC day it covers. */
export function byDay(stretch: Stretch): { day: string; dollars: number }[] {
  const days: { day: string; dollars: number }[] = [];
  for (let start = stretch.from; start < stretch.to; ) {
    const end = Math.min(stretch.to, (Math.floor(start / DAY_MS) + 1) * DAY_MS);
    days.push({ day: utcDay(start), dollars: (stretch.costPerHr * (end - start)) / HOUR_MS });
    start = end;
  }
  return days;
}

/**
 * Accounts the watcher's pods in this pod list up to `now`, in one write: each pod's stretches
 * since it was last accounted, by UTC day and rule. A pod the list no longer shows keeps its account.
 */
export function accountSpend(spend: SpendRepository, config: Config, pods: readonly Pod[], now: number): void {
  const mine = watcherPods(config, pods);
  if (mine.length === 0) return;
  const known = new Map(spend.accounts(mine.map((p) => p.id)).map((a) => [a.podId, a]));
  const owners = new Map(config.resume.map((r) => [r.podId, r.name]));
  const accounts: PodAccount[] = [];
  const added: { day: string; rule: string; dollars: number }[] = [];
  for (const pod of mine) {
    const before = known.get(pod.id);
    // watcherPods keeps only pods with the watcher's markers and resume entries' pods.
    const rule = pod.watcher?.rule ?? owners.get(pod.id) ?? pod.id;
    let dollars = before?.dollars ?? 0;
    for (const stretch of billedStretches(before, pod, now)) {
      for (const d of byDay(stretch)) {
        added.push({ ...d, rule });
        dollars += d.dollars;
      }
    }
    const billed = BILLED.has(pod.desiredStatus);
    // A stopped pod keeps the rate it ran at (REST v2 shows a stopped pod's cost as 0).
    const costPerHr = billed ? pod.costPerHr : (before?.costPerHr ?? pod.costPerHr);
    accounts.push({ podId: pod.id, rule, costPerHr, billed, seenAt: Math.max(now, before?.seenAt ?? now), dollars });
  }
  spend.record(accounts, added);
}
