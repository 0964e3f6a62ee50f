import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler, parseListen, startHttpServer, type HttpRequest } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { schedulePeriodMs } from '../../src/lib/cron-period.js';
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
    // prom-client writes NaN as `Nan` (the event-loop lag before its first sample); Prometheus reads
    // the special values case-insensitively, so any casing of NaN is valid text.
    for (const line of samples) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|[Nn][Aa][Nn]|[+-]Inf)$/);
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

  it('/metrics counts every failed RunPod attempt, also one a retry recovered from, apart from failed polls', async () => {
    const { d, get } = setup();
    sim.fault({ kind: 'status', status: 502, times: 1, op: 'gpuTypes' });
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    const body = (await get('/metrics')).body;
    expect(body).toContain('gpuwatch_api_attempt_errors_total{operation="snapshot",kind="transient"} 1');
    expect(body).toContain('gpuwatch_api_errors_total{kind="transient"} 0');
    expect(body).toContain('gpuwatch_polls_total{outcome="ok"} 1');
  });

  it('/api/status shows the last poll, rules, alerts, live watcher pods and the outbox', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const status = JSON.parse((await get('/api/status')).body);
    expect(status.live.snapshot.map((s: { gpu: string; stock: string }) => [s.gpu, s.stock])).toEqual([
      ['NVIDIA RTX A5000', 'Low'],
      ['NVIDIA RTX A6000', 'High'],
    ]);
    expect(status.rules).toEqual([
      {
        name: 'trainer',
        deploys: 1,
        maxDeploys: null,
        pods: 1,
        maxPods: 1,
        last: { at: expect.any(String), outcome: 'deployed', detail: expect.stringMatching(/^pod \w+ on NVIDIA RTX A6000 \(on-demand\)$/) },
        blocked: null,
        waitingOutRetryAfter: [],
        spent: 0,
      },
    ]);
    expect(status.alerts).toEqual([{ name: 'a6000-back', firing: true, firedAt: expect.any(String) }]);
    expect(status.livePods.pods.map((p: { name: string }) => p.name)).toEqual(['trainer']);
    expect([status.undelivered.pending, status.undelivered.failed]).toEqual([2, 0]);
    expect(status.recentEvents.map((e: { type: string }) => e.type).sort()).toEqual(['alert.fired', 'pod.deployed']);
    expect(status.api).toEqual({ source: 'graphql', down: false, downSince: null, failuresInARow: 0 });
    expect(status.live.keyAccepted).toBe(true);
  });

  it('/api/insights answers the insights document, each key judged as its rule or watch says, and 400 for a bad zone', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    d.clock.advance(30_000);
    await d.watcher.tick();
    const response = await get('/api/insights?tz=Europe/Berlin');
    expect(response.status).toBe(200);
    const document = JSON.parse(response.body);
    expect(document.timeZone).toBe('Europe/Berlin');
    expect(document.keys.map((k: { keyId: string; deployableAt: string; deployableFrom: string; observedMs: number }) => [k.keyId, k.deployableAt, k.deployableFrom, k.observedMs])).toEqual([
      ['NVIDIA RTX A5000|1|SECURE', 'Low', 'watch', 30_000],
      ['NVIDIA RTX A6000|1|SECURE', 'Medium', 'rule trainer', 30_000],
    ]);
    const bad = await get('/api/insights?tz=Atlantis');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: 'tz: "Atlantis" is not a time zone: give an IANA name such as UTC, Europe/Berlin or America/New_York' });
    expect((await get('/api/insights?since=lately')).status).toBe(400);
  });

  it('/api/history answers intervals, and 400 with a reason for a bad parameter', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const history = JSON.parse((await get('/api/history?gpu=NVIDIA%20RTX%20A5000&since=1h')).body);
    expect(history.intervals.map((i: { key: { gpuTypeId: string }; stock: string }) => [i.key.gpuTypeId, i.stock])).toEqual([['NVIDIA RTX A5000', 'Low']]);
    const bad = await get('/api/history?since=lately');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: 'since: "lately" is not a duration like 24h or 7d, nor a date like 2026-11-01 or 2026-11-01T08:00Z' });
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

describe('/api/history with an absurd since', () => {
  it.each([
    ['99999999d', 'reaches back before 1970'],
    ['999999999d', 'reaches back before 1970'],
    ['1e400h', 'is not a duration like 24h'],
    ['-5d', 'is not a duration like 24h'],
    ['1969-07-20', 'reaches back before 1970'],
    ['9999-12-31', 'is in the future'],
    ['2026-02-31', 'is not a duration like 24h'],
    ['%00%FF', 'is not a duration like 24h'],
  ])('since=%s is 400 with the reason (%s), never 500', async (since, reason) => {
    const { d, get } = setup();
    await d.watcher.tick();
    const response = await get(`/api/history?since=${encodeURIComponent(since)}`);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).error).toMatch(new RegExp(`^since: ".*" ${reason}`));
  });

  it('a date in range answers 200 with that date', async () => {
    const { d, get } = setup();
    await d.watcher.tick();
    const response = await get('/api/history?since=1970-01-01');
    expect([response.status, JSON.parse(response.body).since]).toEqual([200, '1970-01-01T00:00:00.000Z']);
  });
});

// DNS rebinding: a page on evil.example re-points its name at 127.0.0.1, and the browser then
// sends that page's requests here with `Host: evil.example:9464`.
describe('the Host check', () => {
  const routes = ['/api/status', '/api/history', '/api/insights', '/metrics', '/', '/assets/uplot.iife.min.js', '/nope'];

  it.each(routes)('%s answers 421 with a reason to a Host that is not this server', async (route) => {
    const { get } = setup();
    const response = await get(route, { host: 'evil.example:9464' });
    expect(response.status).toBe(421);
    expect(JSON.parse(response.body)).toEqual({ error: 'Host "evil.example:9464" is not this server\'s: add it to http.allowedHosts to reach the watcher by that name' });
  });

  it('answers loopback names on any port, any case, and requests without Host', async () => {
    const { get } = setup('http: { listen: "127.0.0.1:9464" }');
    for (const host of ['localhost', 'localhost:9464', 'LOCALHOST:8080', '127.0.0.1', '127.0.0.1:9464', '[::1]', '[::1]:9464', 'localhost.:9464', undefined]) {
      expect((await get('/api/status', { host })).status, String(host)).toBe(200);
    }
    for (const host of ['127.0.0.1.evil.example', 'localhost.evil.example:9464', 'evil.example', '10.0.0.5:9464', '', 'a b', '[::2]:9464', 'localhost:9464:1']) {
      expect((await get('/api/status', { host })).status, host).toBe(421);
    }
  });

  it('answers the listen host itself, but not a wildcard listen address', async () => {
    const named = setup('http: { listen: "watcher.lan:9464" }');
    expect((await named.get('/api/status', { host: 'watcher.lan:9464' })).status).toBe(200);
    expect((await named.get('/api/status', { host: 'Watcher.LAN' })).status).toBe(200);
    const v6 = setup('http: { listen: "[fd00::5]:9464" }');
    expect((await v6.get('/api/status', { host: '[fd00::5]:9464' })).status).toBe(200);
    const wildcard = setup('http: { listen: "0.0.0.0:9464" }');
    expect((await wildcard.get('/api/status', { host: '0.0.0.0:9464' })).status).toBe(421);
    expect((await wildcard.get('/api/status', { host: '192.168.1.5:9464' })).status).toBe(421);
    expect((await wildcard.get('/api/status', { host: 'localhost:9464' })).status).toBe(200);
  });

  it('answers http.allowedHosts entries: any port without one, only that port with one', async () => {
    const { get } = setup('http: { listen: "0.0.0.0:9464", allowedHosts: [gpu-box, "watcher.internal:9464", "192.168.1.5"] }');
    expect((await get('/api/status', { host: 'gpu-box:9464' })).status).toBe(200);
    expect((await get('/api/status', { host: 'GPU-BOX' })).status).toBe(200);
    expect((await get('/api/status', { host: '192.168.1.5:9464' })).status).toBe(200);
    expect((await get('/api/status', { host: 'watcher.internal:9464' })).status).toBe(200);
    expect((await get('/api/status', { host: 'watcher.internal:8080' })).status).toBe(421);
    expect((await get('/api/status', { host: 'watcher.internal' })).status).toBe(421);
    expect((await get('/api/status', { host: 'gpu-box.evil.example' })).status).toBe(421);
  });

  it('/healthz answers any Host: orchestrators probe it by the container address, and it tells nothing private', async () => {
    const { get } = setup('http: { listen: "0.0.0.0:9464" }');
    expect((await get('/healthz', { host: '172.17.0.2:9464' })).status).toBe(200);
    expect((await get('/healthz', { host: 'evil.example' })).status).toBe(200);
  });

  it('checks the Host header a real socket carries', async () => {
    const { get } = setup();
    const server = await startHttpServer('127.0.0.1:0', (request) => get(request.url, request.headers), capturedLogger().logger);
    const port = Number(new URL(server.url).port);
    const request = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/api/status', headers: { host } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
      });
    try {
      const refused = await request(`evil.example:${port}`);
      expect(refused.status).toBe(421);
      expect(JSON.parse(refused.body).error).toContain(`Host "evil.example:${port}" is not this server's`);
      expect((await request(`127.0.0.1:${port}`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/status`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
