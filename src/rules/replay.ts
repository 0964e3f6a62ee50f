import { keyId, type GpuOffer } from '../runpod/types.js';
import type { Config } from '../config/schema.js';
import { NO_VOLUMES, type VolumeDataCenters } from '../config/watched-keys.js';
import type { HistoryInterval } from '../store/history.js';
import { decideRule, INITIAL_RULE_STATE } from './decide.js';
import { utcDay, utcMonthStart } from '../lib/utc-day.js';

/** A deploy the rules would have made. */
interface ReplayDeploy {
  time: number;
  rule: string;
  gpuTypeId: string;
  gpuCount: number;
  cloud: string;
  kind: 'spot' | 'on-demand';
  pricePerGpu: number;
  costPerHr: number;
}

/** What replaying history through the rules found. */
export interface ReplayResult {
  since: number;
  until: number;
  deploys: ReplayDeploy[];
  /** $/hr of every would-be pod together. */
  totalPerHr: number;
  /** Dollars, had each would-be pod run from its deploy to `until`. */
  totalCost: number;
}

function offerOf(interval: HistoryInterval): GpuOffer {
  return {
    key: interval.key,
    displayName: null,
    stock: interval.stock,
    stockRaw: interval.stock,
    onDemandPrice: interval.onDemandPrice,
    minBidPrice: interval.minBidPrice,
    availableGpuCounts: interval.availableGpuCounts,
  };
}

/**
 * Runs recorded history through the current rules with the same `decideRule` the daemon uses. At
 * every moment the recorded market changed (or a gap began), each rule decides on the market as
 * recorded; RunPod is taken to accept every deploy, and would-be pods live on to the end. Keys in a
 * gap (no recording) have no data, exactly as a failed poll has none.
 */
/** What the replayed pods (running from their deploy on) cost from `start` to `now`. */
function replaySpend(pods: readonly ReplayDeploy[], start: number, now: number): number {
  return pods.reduce((sum, p) => sum + (p.costPerHr * Math.max(0, now - Math.max(p.time, start))) / 3_600_000, 0);
}

export function replay(config: Config, intervals: readonly HistoryInterval[], since: number, until: number, volumes: VolumeDataCenters = NO_VOLUMES): ReplayResult {
  const ordered = [...intervals].sort((a, b) => a.firstSeen - b.firstSeen);
  const moments = [...new Set(ordered.flatMap((i) => [Math.max(i.firstSeen, since), i.lastSeen + 1]))].filter((t) => t >= since && t <= until).sort((a, b) => a - b);
  const pods: ReplayDeploy[] = [];
  const active = new Map<string, HistoryInterval>();
  let next = 0;
  for (const now of moments) {
    while (next < ordered.length && (ordered[next]?.firstSeen ?? Infinity) <= now) {
      const interval = ordered[next++];
      if (interval) active.set(keyId(interval.key), interval);
    }
    for (const [id, interval] of active) if (interval.lastSeen < now) active.delete(id);
    const offers = new Map([...active].map(([id, interval]) => [id, offerOf(interval)]));
    for (const rule of config.rules) {
      const mine = pods.filter((p) => p.rule === rule.name);
      const decision = decideRule(rule, INITIAL_RULE_STATE, {
        offers,
        volumes,
        rulePods: mine.length,
        deploys: mine.length,
        unresolvedDeploys: 0,
        endedPods: 0,
        budgetPods: pods.length,
        budgetSpend: pods.reduce((sum, p) => sum + p.costPerHr, 0),
        spent: { day: replaySpend(pods, Date.parse(utcDay(now)), now), month: replaySpend(pods, Date.parse(utcMonthStart(now)), now) },
        budget: config.budget,
        spotAvailable: true,
        configHash: '',
        now,
      });
      if (decision.kind !== 'deploy') continue;
      const option = decision.options[0];
      if (!option) continue;
      pods.push({ time: now, rule: rule.name, gpuTypeId: option.gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, kind: option.kind, pricePerGpu: option.pricePerGpu, costPerHr: option.costPerHr });
    }
  }
  return {
    since,
    until,
    deploys: pods,
    totalPerHr: pods.reduce((sum, p) => sum + p.costPerHr, 0),
    totalCost: pods.reduce((sum, p) => sum + (p.costPerHr * (until - p.time)) / 3_600_000, 0),
  };
}
