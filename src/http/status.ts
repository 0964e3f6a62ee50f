import type { Config } from '../config/schema.js';
import type { Daemon } from '../main.js';

import { isoTime as iso } from '../lib/format.js';

/** What `/api/status` answers: the last poll, every rule and alert, live watcher pods, the outbox. */
export function buildStatus(daemon: Daemon, config: Config, dryRun: boolean, now: number): Record<string, unknown> {
  const { watcher, engine, alerts, store, auth } = daemon;
  const health = watcher.apiHealth;
  return {
    now: iso(now),
    dryRun,
    lastPollAt: iso(watcher.stats.lastPollAt),
    lastSuccessAt: iso(watcher.stats.lastSuccessAt),
    api: { down: health.downSince !== null, downSince: iso(health.downSince), failuresInARow: health.failures, keyAccepted: auth.accepted },
    snapshot: (watcher.lastSnapshot?.offers ?? []).map((o) => ({
      gpu: o.key.gpuTypeId,
      gpuCount: o.key.gpuCount,
      cloud: o.key.cloud,
      displayName: o.displayName,
      stock: o.stock,
      onDemandPrice: o.onDemandPrice,
      minBidPrice: o.minBidPrice,
      availableGpuCounts: o.availableGpuCounts,
    })),
    rules: config.rules.map((r) => {
      const report = engine.reports.get(r.name);
      return {
        name: r.name,
        deploys: store.journal.succeededCount(r.name),
        maxDeploys: r.maxDeploys ?? null,
        livePods: engine.livePods.filter((p) => p.watcher?.rule === r.name).length,
        maxPods: r.maxPods,
        last: report ? { at: iso(report.at), outcome: report.outcome, detail: report.detail } : null,
      };
    }),
    alerts: alerts.states().map((a) => ({ ...a, firedAt: iso(a.firedAt) })),
    pods: engine.livePods,
    outbox: store.outbox.depth(),
    recentEvents: store.outbox.recent(20),
    counters: { polls: watcher.stats.polls, skippedTicks: watcher.stats.skippedTicks, apiErrors: watcher.stats.apiErrors, dropped: watcher.stats.dropped },
  };
}
