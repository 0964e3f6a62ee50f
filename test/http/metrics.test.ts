import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler, startHttpServer } from '../../src/http/server.js';
import { schedulePeriodMs } from '../../src/lib/cron-period.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

const YAML = `
poll: { schedule: "*/30 * * * * *" }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
alerts:
  - { name: a6000-back, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }
  - { name: h100-back, gpu: NVIDIA H100 80GB HBM3, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
  - { name: idle-rule, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 9 }], pod: { imageName: i }, notify: [ops] }
`;

/** The labels column of each documented metric's row in docs/metrics.md. */
const DOC_LABELS = new Map([...readFileSync('docs/metrics.md', 'utf8').matchAll(/^\| `(\w+)` \| \w+ \| ([^|]*) \|/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));

let sim: RunpodSimulator;
let server: Awaited<ReturnType<typeof startHttpServer>> | undefined;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await sim.close();
});

/** A daemon with metrics behind a real HTTP server on port 0, and a scrape parsed by a Prometheus text parser. */
async function scraped() {
  const d = daemonFor(sim, YAML, { metrics: true });
  const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: schedulePeriodMs(d.config.poll.schedule), assets: loadDashboardAssets() });
  server = await startHttpServer('127.0.0.1:0', handler, capturedLogger().logger);
  const url = `${server.url}/metrics`;
  const scrape = async (): Promise<Map<string, ParsedFamily>> => {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    return new Map(parsePrometheusTextFormat(await response.text()).map((family) => [family.name, family]));
  };
  return { d, scrape };
}

/** The value of the one sample of `name` whose labels are exactly `labels`. */
function value(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = families.get(name)?.metrics.find((m) => JSON.stringify(m.labels ?? {}) === JSON.stringify(labels));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

describe('/metrics, read by a Prometheus text-format parser', () => {
  it('counts deploy transitions, the watcher’s pods and their $/hr, alerts firing and failed cycles, with Node’s metrics under their standard names', async () => {
    const { d, scrape } = await scraped();
    await d.watcher.tick();
    const metrics = await scrape();
    // One deploy: journaled (pending), then succeeded. Counted as transitions, so pending stays at 1
    // after the entry left it (a count rebuilt from the journal's rows would say 0).
    expect(value(metrics, 'gpuwatch_deploys_total', { rule: 'trainer', kind: 'on-demand', status: 'pending' })).toBe(1);
    expect(value(metrics, 'gpuwatch_deploys_total', { rule: 'trainer', kind: 'on-demand', status: 'succeeded' })).toBe(1);
    const pods = d.store.daemon.rulesLastCycle.get()?.livePods ?? [];
    expect(pods).toHaveLength(1);
    expect(value(metrics, 'gpuwatch_watcher_pods', { rule: 'trainer' })).toBe(1);
    expect(value(metrics, 'gpuwatch_watcher_pods', { rule: 'idle-rule' })).toBe(0);
    expect(value(metrics, 'gpuwatch_watcher_pods_cost_per_hour_dollars', { rule: 'trainer' })).toBeCloseTo(pods[0]?.costPerHr ?? NaN, 6);
    expect(value(metrics, 'gpuwatch_alert_firing', { alert: 'a6000-back' })).toBe(1);
    expect(value(metrics, 'gpuwatch_alert_firing', { alert: 'h100-back' })).toBe(0);
    expect(value(metrics, 'gpuwatch_cycle_errors_total')).toBe(0);
    expect(metrics.get('gpuwatch_deploys_total')?.type).toBe('COUNTER');
    // The process and Node.js metrics keep their standard names, so stock dashboards find them.
    expect(metrics.get('process_cpu_user_seconds_total')?.type).toBe('COUNTER');
    expect(metrics.get('nodejs_heap_size_used_bytes')?.type).toBe('GAUGE');
    expect([...metrics.keys()].filter((name) => /^gpuwatch_(process|nodejs)_/.test(name))).toEqual([]);
  });

  it('every counter only grows from one scrape to the next, while pods come and go', async () => {
    const { d, scrape } = await scraped();
    await d.watcher.tick();
    const before = await scrape();
    const pod = d.store.daemon.rulesLastCycle.get()?.livePods[0];
    expect(pod).toBeDefined();
    // The pod goes away behind the watcher's back: the gauges drop, the counters never do.
    sim.market.pods.delete(pod?.id ?? '');
    d.clock.advance(30_000);
    await d.watcher.tick();
    const after = await scrape();
    expect(value(after, 'gpuwatch_deploys_total', { rule: 'trainer', kind: 'on-demand', status: 'succeeded' })).toBe(2);
    for (const family of before.values()) {
      if (family.type !== 'COUNTER') continue;
      for (const sample of family.metrics) {
        const later = value(after, family.name, sample.labels ?? {});
        expect(later, `${family.name} ${JSON.stringify(sample.labels)}`).toBeGreaterThanOrEqual(Number(sample.value));
      }
    }
  });

  it('names only labels docs/metrics.md documents for each metric', async () => {
    const { d, scrape } = await scraped();
    await d.watcher.tick();
    const undocumented = [...(await scrape()).values()].flatMap((family) =>
      family.metrics.flatMap((m) => Object.keys(m.labels ?? {}).filter((label) => label !== 'le' && !(DOC_LABELS.get(family.name) ?? '').includes(`\`${label}\``)).map((label) => `${family.name}: ${label}`)),
    );
    expect([...new Set(undocumented)]).toEqual([]);
  });
});
