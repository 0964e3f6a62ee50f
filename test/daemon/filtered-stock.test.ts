import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { keyId, type WatchKey } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger, testIo } from '../helpers/capture.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { tempDbPath } from '../helpers/on-disk.js';

// A rule whose pod needs CUDA 12.8 and mounts a network volume in EU-RO-1 watches the stock of that
// machine, not the A6000's whole stock: it deploys when that stock appears, not before.

const A6000 = 'NVIDIA RTX A6000';
const LABEL = `${A6000} ×1 SECURE · CUDA 12.8 · EU-RO-1`;
const yaml = (source: 'graphql' | 'rest', volume = 'vol-ro') => `
api: { source: ${source} }
watch: [{ gpu: ${A6000}, cloud: SECURE }]
alerts:
  - { name: ro-cuda, gpu: ${A6000}, cloud: SECURE, when: { stockAtLeast: Medium }, machine: { dataCenterId: EU-RO-1, allowedCudaVersions: ["12.8"] } }
rules:
  - name: trainer
    cloud: SECURE
    minStock: Medium
    spot: never
    candidates: [{ gpu: ${A6000}, maxPrice: 0.90 }]
    pod: { imageName: runpod/pytorch, allowedCudaVersions: [12.8], networkVolumeId: ${volume} }
  - name: twin
    cloud: SECURE
    minStock: Medium
    spot: never
    candidates: [{ gpu: ${A6000}, maxPrice: 0.10 }]
    pod: { imageName: other, allowedCudaVersions: ["12.8"], dataCenterId: EU-RO-1 }
`;
const cuda = (v128: string) => [
  { version: '12.4', available: true, stock: 'High' },
  { version: '12.8', available: v128 !== 'None', stock: v128 },
];
const dcs = (romania: string) => [
  { id: 'US-KS-2', stock: 'High' },
  { id: 'EU-RO-1', stock: romania },
];

let sim: RunpodSimulator;
beforeEach(async () => {
  const market = testMarket({ networkVolumes: [{ id: 'vol-ro', dataCenterId: 'EU-RO-1' }] });
  const a6000 = market.gpus?.find((g) => g.id === A6000);
  if (a6000?.secure) Object.assign(a6000.secure, { cudaVersions: cuda('None'), dataCenters: dcs('High') });
  sim = await RunpodSimulator.start({
    ...market,
    steps: [
      // CUDA 12.8 machines come back, but not in Romania.
      { set: [{ gpu: A6000, cloud: 'SECURE', cudaVersions: cuda('High'), dataCenters: dcs('None') }] },
      // Romania too: the machine the rule needs.
      { set: [{ gpu: A6000, cloud: 'SECURE', dataCenters: dcs('High') }] },
    ],
  });
});
afterEach(async () => {
  await sim.close();
});

async function daemon(source: 'graphql' | 'rest', dbPath = ':memory:', volume?: string, metrics = false) {
  const config = parseConfig(yaml(source, volume), 'test.yaml', { RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl });
  const clock = new FakeClock(Date.UTC(2026, 10, 29, 10));
  const { logger } = capturedLogger();
  const d = await startDaemon({ config, dbPath, apiKey: TEST_KEY, dryRun: false, clock, logger, metrics });
  return { ...d, config, clock };
}

const unfiltered: WatchKey = { gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE' };

describe.each(['graphql', 'rest'] as const)('filtered stock over %s', (source) => {
  it('records the filtered stock apart from the whole stock, and deploys only when the machine the pod needs is in stock', async () => {
    const dbPath = tempDbPath();
    const d = await daemon(source, dbPath);
    const fired = () => d.store.outbox.recent(100).filter((e) => e.type === 'alert.fired').length;
    const deploys = () => sim.market.livePods().filter((p) => p.env.some((e) => e === 'GPU_WATCHER_RULE=trainer'));
    // Deploys sent, refused or not: the rule must not even try on stock its machine does not have.
    const attempts = () => sim.requests.filter((r) => r.rootFields.includes('podFindAndDeployOnDemand') || (r.method === 'POST' && r.url === '/v2/pods')).length;

    // Poll 0: the A6000 is High, but no CUDA 12.8 machine has room.
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(deploys()).toEqual([]);
    sim.advance();
    d.clock.advance(30_000);
    // Poll 1: CUDA 12.8 machines are back, but none in the volume's data center.
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(deploys()).toEqual([]);
    expect(attempts()).toBe(0);
    expect(fired()).toBe(0);
    sim.advance();
    d.clock.advance(30_000);
    // Poll 2: the machine the rule needs is in stock: it deploys there.
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(deploys()).toHaveLength(1);
    expect(attempts()).toBe(1);
    // An alert naming the same machine shares the key, and fires on its stock too.
    expect(fired()).toBe(1);
    expect(deploys()[0]?.dataCenterId).toBe('EU-RO-1');

    const history = d.store.history.intervals({ since: 0 });
    const byKey = (key: string) => history.filter((i) => keyId(i.key) === key).map((i) => [i.stock, i.polls]);
    expect(byKey(keyId(unfiltered))).toEqual([['High', 3]]);
    expect(byKey(`${keyId(unfiltered)}|cuda=12.8;dc=EU-RO-1`)).toEqual([['None', 2], ['High', 1]]);
    // The two rules and the alert ask for the same machine (by volume, by data center): one key, one alias.
    expect(new Set(history.map((i) => keyId(i.key))).size).toBe(2);
    if (source === 'graphql') {
      const snapshot = sim.requests.filter((r) => r.operationName === 'Snapshot').at(-1);
      const variables = (JSON.parse(snapshot?.body ?? '{}') as { variables: Record<string, unknown> }).variables;
      expect(Object.keys(variables).sort()).toEqual(['k0g', 'k0p', 'k1g', 'k1p']);
      expect(variables.k1p).toEqual({ gpuCount: 1, secureCloud: true, allowedCudaVersions: ['12.8'], dataCenterId: 'EU-RO-1' });
    } else {
      const catalog = sim.requests.filter((r) => r.url.startsWith('/v2/catalog/gpus')).map((r) => decodeURIComponent(r.url));
      expect(catalog.some((url) => url.includes('cudaVersions=12.8'))).toBe(true);
    }
    d.store.close();

    // history and /api/history name the filtered stock by its readable label.
    const io = testIo();
    expect(await runCli(['history', '--db', dbPath, '--json', '--since', '30d'], io)).toBe(0);
    const json = JSON.parse(io.out.text()) as { intervals: { label: string; stock: string }[] };
    expect(json.intervals.filter((i) => i.label === LABEL).map((i) => i.stock)).toEqual(['None', 'High']);
    const text = testIo();
    expect(await runCli(['history', '--db', dbPath, '--since', '30d'], text)).toBe(0);
    expect(text.out.text()).toContain(`${A6000} · CUDA 12.8 · EU-RO-1`);
  });
});

describe('network volumes', () => {
  it('serves /api/history with each key’s label, /api/status and /metrics with each key’s filters', async () => {
    const d = await daemon('graphql', ':memory:', undefined, true);
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const answer = await handler({ method: 'GET', url: '/api/history?since=1h', headers: {} });
    const body = JSON.parse(answer.body) as { intervals: { label: string }[] };
    expect(body.intervals.map((i) => i.label).sort()).toEqual([`${A6000} ×1 SECURE`, LABEL]);
    const status = JSON.parse((await handler({ method: 'GET', url: '/api/status', headers: {} })).body) as { live: { snapshot: { gpu: string; machine: string; stock: string }[] } };
    expect(status.live.snapshot.map((s) => [s.gpu, s.machine, s.stock])).toEqual([
      [A6000, '', 'High'],
      [A6000, 'CUDA 12.8 · EU-RO-1', 'None'],
    ]);
    const metrics = (await handler({ method: 'GET', url: '/metrics', headers: {} })).body;
    expect(metrics).toContain(`gpuwatch_gpu_stock_level{gpu="${A6000}",gpu_count="1",cloud="SECURE"} 3`);
    expect(metrics).toContain(`gpuwatch_gpu_stock_level{gpu="${A6000}",gpu_count="1",cloud="SECURE",filters="cuda=12.8;dc=EU-RO-1"} 0`);
    d.store.close();
  });

  it.each(['graphql', 'rest'] as const)('refuses to start over %s when the account has no such volume, naming the rule', async (source) => {
    const failure = await daemon(source, ':memory:', 'vol-gone').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).message).toBe('rules[0].pod.networkVolumeId: the account has no network volume "vol-gone"');
  });

  it('reads each volume once, and falls back to the last reading when RunPod cannot be reached at start', async () => {
    const dbPath = tempDbPath();
    const first = await daemon('graphql', dbPath);
    expect(sim.requests.filter((r) => r.operationName === 'NetworkVolumes')).toHaveLength(1);
    first.store.close();
    sim.fault({ kind: 'status', status: 502, times: 100, op: 'myself' });
    const second = await daemon('graphql', dbPath);
    sim.clearFaults();
    expect((await second.watcher.tick())?.outcome).toBe('ok');
    expect(second.store.history.intervals({ since: 0 }).map((i) => keyId(i.key))).toContain(`${keyId(unfiltered)}|cuda=12.8;dc=EU-RO-1`);
    second.store.close();
  });
});
