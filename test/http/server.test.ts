import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler, parseListen, startHttpServer, type HttpRequest } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { schedulePeriodMs } from '../../src/watcher/scheduler.js';
import { capturedLogger } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

const YAML = (http = '') => `
poll: { schedule: "*/30 * * * * *" }
${http}
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
watch: [{ gpu: NVIDIA RTX A5000, cloud: SECURE }]
alerts: [{ name: a6000-back, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
`;

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

function setup(http = '') {
  const d = daemonFor(sim, YAML(http), { metrics: true });
  const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: schedulePeriodMs(d.config.poll.schedule), assets: loadDashboardAssets() });
  const get = (url: string, headers: HttpRequest['headers'] = {}) => handler({ method: 'GET', url, headers });
  return { d, get };
}

describe('HTTP routes', () => {
  it('/healthz is 200 while polls succeed and 503 once three schedule periods pass without one', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const ok = await get('/healthz');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ status: 'ok', lastPollAt: new Date(d.clock.now()).toISOString() });
    sim.fault({ kind: 'status', status: 502, times: 100, op: 'gpuTypes' });
    d.clock.advance(30_000);
    expect((await d.watcher.tick())?.outcome).toBe('failed');
    const lastOk = d.watcher.stats.lastSuccessAt ?? 0;
    d.clock.advance(lastOk + 90_000 - d.clock.now());
    expect((await get('/healthz')).status).toBe(200);
    d.clock.advance(1);
    const stale = await get('/healthz');
    expect(stale.status).toBe(503);
    expect(JSON.parse(stale.body)).toMatchObject({ status: 'stale', reason: 'no successful poll for 3 schedule periods' });
  });

  it('/metrics is Prometheus text with the gpuwatch_ gauges and counters', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const samples = response.body.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples.length).toBeGreaterThan(20);
    for (const line of samples) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|NaN|[+-]Inf)$/);
    const body = response.body;
    expect(body).toContain('gpuwatch_polls_total{outcome="ok"} 1');
    expect(body).toContain('gpuwatch_gpu_stock_level{gpu="NVIDIA RTX A6000",gpu_count="1",cloud="SECURE"} 3');
    expect(body).toContain('gpuwatch_gpu_stock_level{gpu="NVIDIA RTX A5000",gpu_count="1",cloud="SECURE"} 1');
    expect(body).toContain('gpuwatch_gpu_on_demand_price_dollars{gpu="NVIDIA RTX A6000",gpu_count="1",cloud="SECURE"} 0.79');
    expect(body).toContain('gpuwatch_gpu_min_bid_price_dollars{gpu="NVIDIA RTX A5000",gpu_count="1",cloud="SECURE"} 0.2');
    expect(body).toContain('gpuwatch_poll_duration_seconds_count 1');
    expect(body).toContain('gpuwatch_deploys_total{rule="trainer",kind="on-demand",status="succeeded"} 1');
    expect(body).toContain('gpuwatch_outbox_depth{state="pending"} 2');
    expect(body).toMatch(/gpuwatch_api_errors_total\{kind="transient"\} 0/);
    expect(body).toMatch(/gpuwatch_api_errors_total\{kind="retired"\} 0/);
  });

  it('/api/status shows the last poll, rules, alerts, live watcher pods and the outbox', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const status = JSON.parse((await get('/api/status')).body);
    expect(status.snapshot.map((s: { gpu: string; stock: string }) => [s.gpu, s.stock])).toEqual([
      ['NVIDIA RTX A5000', 'Low'],
      ['NVIDIA RTX A6000', 'High'],
    ]);
    expect(status.rules).toEqual([
      { name: 'trainer', deploys: 1, maxDeploys: null, livePods: 1, maxPods: 1, last: { at: expect.any(String), outcome: 'deployed', detail: expect.stringMatching(/^pod \w+ on NVIDIA RTX A6000 \(on-demand\)$/) } },
    ]);
    expect(status.alerts).toEqual([{ name: 'a6000-back', firing: true, firedAt: expect.any(String) }]);
    expect(status.pods.map((p: { name: string }) => p.name)).toEqual(['trainer']);
    expect(status.outbox).toEqual({ pending: 2, failed: 0 });
    expect(status.recentEvents.map((e: { type: string }) => e.type).sort()).toEqual(['alert.fired', 'pod.deployed']);
    expect(status.api).toEqual({ down: false, downSince: null, failuresInARow: 0, keyAccepted: true });
  });

  it('/api/history answers intervals, and 400 with a reason for a bad parameter', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const history = JSON.parse((await get('/api/history?gpu=NVIDIA%20RTX%20A5000&since=1h')).body);
    expect(history.intervals.map((i: { key: { gpuTypeId: string }; stock: string }) => [i.key.gpuTypeId, i.stock])).toEqual([['NVIDIA RTX A5000', 'Low']]);
    const bad = await get('/api/history?since=lately');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: 'since: "lately" is not a duration like 24h or a date' });
    expect((await get('/api/history?gpu=')).status).toBe(400);
    expect((await get('/nope')).status).toBe(404);
    const page = await get('/');
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect((await get('/assets/uplot.iife.min.js')).body).toContain('uPlot');
    expect((await setup().get('/healthz')).status).toBe(200);
  });

  it('answers /metrics with 404 for a watcher started without metrics', async () => {
    const d = daemonFor(sim, YAML());
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const response = await handler({ method: 'GET', url: '/metrics', headers: {} });
    expect([response.status, JSON.parse(response.body)]).toEqual([404, { error: 'this watcher was started without metrics' }]);
  });

  it('needs the token on /api/* and /metrics when one is set, but not on /healthz', async () => {
    const { get } = setup('http: { token: s3cret-token }');
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/api/status')).status).toBe(401);
    expect((await get('/api/status', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/api/status', { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await get('/metrics', { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('listens on loopback by default, over a real socket', async () => {
    const config = configSchema.parse({ http: {} });
    expect(config.http?.listen).toBe('127.0.0.1:9464');
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    const { get } = setup();
    const { logger } = capturedLogger();
    const server = await startHttpServer('127.0.0.1:0', (request) => get(request.url, request.headers), logger);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    await server.close();
  });
});
