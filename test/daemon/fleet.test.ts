import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testIo } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { tempDbPath } from '../helpers/on-disk.js';

const A6000 = 'NVIDIA RTX A6000';
const H100 = 'NVIDIA H100 80GB HBM3';
const YAML = (source: 'rest' | 'graphql') => `
api: { source: ${source} }
watch: [{ gpu: ${A6000}, cloud: SECURE }, { gpu: ${H100}, cloud: SECURE }]
`;
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const KEY = { gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE' };

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  // The A6000's Secure Cloud fleet: 34, then 35 of 40 rented (one band), then 38 (past it). The H100 tells no figures.
  sim.market.set({ gpu: A6000, cloud: 'SECURE', rented: 34, total: 40 });
});
afterEach(async () => {
  await sim.close();
});

/** Runs the daemon over three polls of the A6000's fleet: 34, 35, 38 of 40 rented. */
async function threePolls(source: 'rest' | 'graphql', path: string) {
  const clock = new FakeClock(T0);
  const d = daemonFor(sim, YAML(source), { dbPath: path, clock, metrics: true });
  for (const rented of [34, 35, 38]) {
    sim.market.set({ gpu: A6000, cloud: 'SECURE', rented });
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    clock.advance(30_000);
  }
  const handler = createHandler({ daemon: d, config: d.config, clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
  const get = async (url: string) => JSON.parse((await handler({ method: 'GET', url, headers: {} })).body);
  const metric = (name: string) => d.metrics?.registry.getSingleMetricAsString(name) ?? Promise.resolve('');
  return { d, get, metric, iso: (poll: number) => new Date(T0 + poll * 30_000).toISOString() };
}

describe('fleet figures over GraphQL', () => {
  it('are recorded as banded intervals and shown in metrics, /api/status, /api/history and `history`', async () => {
    const path = tempDbPath();
    const { d, get, metric, iso } = await threePolls('graphql', path);

    expect(await metric('gpuwatch_gpu_rented_gpus')).toContain(`gpuwatch_gpu_rented_gpus{gpu="${A6000}",gpu_count="1",cloud="SECURE"} 38`);
    expect(await metric('gpuwatch_gpu_fleet_gpus')).toContain(`gpuwatch_gpu_fleet_gpus{gpu="${A6000}",gpu_count="1",cloud="SECURE"} 40`);
    expect(await metric('gpuwatch_gpu_rental_percentage')).toContain(`gpuwatch_gpu_rental_percentage{gpu="${A6000}",gpu_count="1",cloud="SECURE"} 95`);
    // A key RunPod told no figures for has no series at all (not a 0).
    expect(await metric('gpuwatch_gpu_rented_gpus')).not.toContain(H100);

    const status = await get('/api/status');
    expect(status.live.snapshot.map((s: { gpu: string; fleet: unknown }) => [s.gpu, s.fleet])).toEqual([
      [A6000, { rentedCount: 38, totalCount: 40, rentalPercentage: 95 }],
      [H100, null],
    ]);

    const history = await get('/api/history?since=1h');
    const fleet = [
      {
        key: KEY,
        label: 'NVIDIA RTX A6000 ×1 SECURE',
        intervals: [
          { totalCount: 40, rentedMin: 34, rentedMax: 35, rentalPercentageMin: 85, rentalPercentageMax: 87.5, firstSeen: iso(0), lastSeen: iso(1), polls: 2 },
          { totalCount: 40, rentedMin: 38, rentedMax: 38, rentalPercentageMin: 95, rentalPercentageMax: 95, firstSeen: iso(2), lastSeen: iso(2), polls: 1 },
        ],
      },
    ];
    expect(history.fleet).toEqual(fleet);
    // The stock and price intervals did not split on the fleet's moves: one per key.
    expect(history.intervals).toHaveLength(2);
    d.store.close();

    const json = testIo({});
    expect(await runCli(['history', '--json', '--db', path, '--since', '2026-11-29'], json)).toBe(0);
    expect(JSON.parse(json.out.text()).fleet).toEqual(fleet);
    const text = testIo({});
    expect(await runCli(['history', '--db', path, '--since', '2026-11-29'], text)).toBe(0);
    expect(text.out.text()).toContain(`fleet, ${A6000} x1 SECURE: 38 of 40 rented (95%) (2 intervals)\n`);
    expect(text.out.text()).not.toContain(`fleet, ${H100}`);
  });
});

describe('fleet figures over REST v2', () => {
  it('do not exist: nothing recorded, no series, null in the status', async () => {
    const { d, get, metric } = await threePolls('rest', tempDbPath());
    expect(d.watcher.lastSnapshot?.offers.map((o) => o.fleet)).toEqual([undefined, undefined]);
    expect(await metric('gpuwatch_gpu_rented_gpus')).not.toContain(A6000);
    expect((await get('/api/status')).live.snapshot.map((s: { fleet: unknown }) => s.fleet)).toEqual([null, null]);
    expect((await get('/api/history')).fleet).toEqual([]);
    d.store.close();
  });
});
