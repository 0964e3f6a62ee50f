import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  datasource?: { type: string; uid: string };
}

const DASHBOARD = JSON.parse(readFileSync('docs/grafana-dashboard.json', 'utf8')) as {
  title: string;
  uid: string;
  schemaVersion: number;
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string }[] };
  panels: Panel[];
};
const DOC = readFileSync('docs/metrics.md', 'utf8');
const DOCUMENTED = new Set([...DOC.matchAll(/^\| `(\w+)` \| \w+ \|/gm)].map((m) => m[1]));
/** Grafana's panel types the dashboard may use (all built in). */
const PANEL_TYPES = new Set(['row', 'stat', 'timeseries', 'state-timeline']);
/** PromQL's functions, aggregations and keywords: identifiers in an expression that are not metric names. */
const PROMQL_WORDS = new Set(['time', 'sum', 'by', 'rate', 'increase', 'histogram_quantile', 'le', 'job', 'rule', 'status', 'outcome', 'kind', 'notifier', 'result']);

/** The metric names an expression reads: identifiers not followed by `(`, minus PromQL's words and label names; a histogram's `_bucket` series is its family. */
function metricsOf(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""').replace(/\[[^\]]*\]/g, '');
  return [...withoutStrings.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)]
    .map((m) => m[1] ?? '')
    .filter((name) => !PROMQL_WORDS.has(name))
    .map((name) => name.replace(/_bucket$/, ''));
}

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

describe('docs/grafana-dashboard.json', () => {
  const panels = DASHBOARD.panels;
  const graphs = panels.filter((p) => p.type !== 'row');

  it('is a Grafana dashboard: title, uid, schema version, a Prometheus input, unique panel ids, panels on the 24-column grid that do not overlap', () => {
    expect(DASHBOARD.title).toBe('gpu-watcher');
    expect(DASHBOARD.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(DASHBOARD.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(DASHBOARD.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(graphs.length).toBeGreaterThan(10);
    for (const p of panels) {
      expect(PANEL_TYPES, p.title).toContain(p.type);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.w * p.gridPos.h, p.title).toBeGreaterThan(0);
    }
    const overlaps = panels.flatMap((a, i) =>
      panels.slice(i + 1).filter((b) => a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h).map((b) => `${a.title} / ${b.title}`),
    );
    expect(overlaps).toEqual([]);
  });

  it('every graph queries the Prometheus input, with balanced expressions and unique refIds', () => {
    for (const p of graphs) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(new Set(p.targets?.map((t) => t.refId)).size, p.title).toBe(p.targets?.length);
      for (const t of p.targets ?? []) {
        expect(t.datasource.uid).toBe('${DS_PROMETHEUS}');
        for (const [open, close] of ['()', '{}', '[]']) expect(t.expr.split(open ?? '').length, `${p.title}: ${t.expr}`).toBe(t.expr.split(close ?? '').length);
        for (const variable of t.expr.matchAll(/\$(\w+)/g)) expect(['job', '__rate_interval']).toContain(variable[1]);
      }
    }
    expect(DASHBOARD.templating.list.map((v) => v.name)).toEqual(['job']);
  });

  it('reads only metrics that docs/metrics.md documents and that a real /metrics answer has', async () => {
    const d = daemonFor(
      sim,
      `watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
alerts: [{ name: back, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]
rules: [{ name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }]
`,
      { metrics: true },
    );
    await d.watcher.tick();
    const exposed = new Set(parsePrometheusTextFormat((await d.metrics?.registry.metrics()) ?? '').map((f) => f.name));
    d.store.close();
    const used = new Set(graphs.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsOf(t.expr))));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((name) => !DOCUMENTED.has(name))).toEqual([]);
    expect([...used].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
