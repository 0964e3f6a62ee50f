import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { schedulePeriodMs } from '../../src/lib/cron-period.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testIo } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { tempDbPath } from '../helpers/on-disk.js';

const A6000 = 'NVIDIA RTX A6000';
const YAML = (source: 'rest' | 'graphql') => `
api: { source: ${source} }
poll: { schedule: "*/30 * * * * *" }
watch: [{ gpu: ${A6000}, cloud: SECURE }]
`;
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);
const dcs = (texas: string, sweden?: string) => [{ id: 'US-TX-3', stock: texas }, ...(sweden ? [{ id: 'EU-SE-1', stock: sweden }] : [])];

// The A6000's data centers over the polls: Sweden sells out at poll 1, is missing from RunPod's
// answer at poll 3 and back (still sold out) at poll 4, when Texas drops to Medium; poll 5 fails.
const SCRIPT = [dcs('High', 'None'), undefined, dcs('High'), dcs('Medium', 'None')];

let sim: RunpodSimulator;
beforeEach(async () => {
  const market = testMarket();
  const a6000 = market.gpus?.find((g) => g.id === A6000);
  if (a6000?.secure) a6000.secure.dataCenters = dcs('High', 'Low');
  sim = await RunpodSimulator.start({
    ...market,
    steps: SCRIPT.map((dataCenters) => ({ set: dataCenters ? [{ gpu: A6000, cloud: 'SECURE' as const, dataCenters }] : [] })),
  });
});
afterEach(async () => {
  await sim.close();
});

describe('per-data-center history over REST v2', () => {
  it('records each data center’s level as change intervals, broken by a missing data center, a failed poll and a restart, and reads them back as JSON and text', async () => {
    const path = tempDbPath();
    const clock = new FakeClock(T0);
    const d = daemonFor(sim, YAML('rest'), { dbPath: path, clock });
    // When each poll started (the failed poll's retries move the clock on, so they are read, not computed).
    const started: number[] = [];
    const tick = async (watcher: typeof d.watcher) => {
      started.push(clock.now());
      return (await watcher.tick())?.outcome;
    };
    const at = (poll: number): number => started[poll] ?? Number.NaN;
    const iso = (poll: number): string => new Date(at(poll)).toISOString();
    for (let poll = 0; poll <= 4; poll++) {
      if (poll > 0) {
        sim.advance();
        clock.advance(30_000);
      }
      expect((await tick(d.watcher))).toBe('ok');
    }
    sim.fault({ kind: 'status', status: 502, times: 100, op: 'listGpuTypes' });
    clock.advance(30_000);
    expect((await tick(d.watcher))).toBe('failed');
    sim.clearFaults();
    clock.advance(30_000);
    expect((await tick(d.watcher))).toBe('ok'); // poll 6: the same levels as poll 4, after a gap
    d.store.close();

    const restarted = daemonFor(sim, YAML('rest'), { dbPath: path, clock });
    clock.advance(30_000);
    expect((await tick(restarted.watcher))).toBe('ok'); // poll 7, after a restart
    clock.advance(30_000);
    expect((await tick(restarted.watcher))).toBe('ok'); // poll 8 continues poll 7

    const rows = restarted.store.history.dataCenterIntervals({ since: 0 }).map((i) => [i.dataCenter, i.stock, i.firstSeen, i.lastSeen, i.polls]);
    expect(rows).toEqual([
      ['EU-SE-1', 'Low', at(0), at(0), 1],
      ['EU-SE-1', 'None', at(1), at(2), 2],
      ['EU-SE-1', 'None', at(4), at(4), 1],
      ['EU-SE-1', 'None', at(6), at(6), 1],
      ['EU-SE-1', 'None', at(7), at(8), 2],
      ['US-TX-3', 'High', at(0), at(3), 4],
      ['US-TX-3', 'Medium', at(4), at(4), 1],
      ['US-TX-3', 'Medium', at(6), at(6), 1],
      ['US-TX-3', 'Medium', at(7), at(8), 2],
    ]);

    // /api/history: the key's data-center intervals grouped under it, beside the main intervals.
    const handler = createHandler({ daemon: restarted, config: restarted.config, clock, dryRun: false, periodMs: schedulePeriodMs(restarted.config.poll.schedule), assets: loadDashboardAssets() });
    const api = JSON.parse((await handler({ method: 'GET', url: '/api/history?since=1h', headers: {} })).body);
    const key = { gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE' };
    expect(api.dataCenters).toEqual([
      {
        key,
        label: `${A6000} ×1 SECURE`,
        intervals: [
          { dataCenter: 'EU-SE-1', stock: 'Low', firstSeen: iso(0), lastSeen: iso(0), polls: 1 },
          { dataCenter: 'EU-SE-1', stock: 'None', firstSeen: iso(1), lastSeen: iso(2), polls: 2 },
          { dataCenter: 'EU-SE-1', stock: 'None', firstSeen: iso(4), lastSeen: iso(4), polls: 1 },
          { dataCenter: 'EU-SE-1', stock: 'None', firstSeen: iso(6), lastSeen: iso(6), polls: 1 },
          { dataCenter: 'EU-SE-1', stock: 'None', firstSeen: iso(7), lastSeen: iso(8), polls: 2 },
          { dataCenter: 'US-TX-3', stock: 'High', firstSeen: iso(0), lastSeen: iso(3), polls: 4 },
          { dataCenter: 'US-TX-3', stock: 'Medium', firstSeen: iso(4), lastSeen: iso(4), polls: 1 },
          { dataCenter: 'US-TX-3', stock: 'Medium', firstSeen: iso(6), lastSeen: iso(6), polls: 1 },
          { dataCenter: 'US-TX-3', stock: 'Medium', firstSeen: iso(7), lastSeen: iso(8), polls: 2 },
        ],
      },
    ]);
    expect(api.intervals.map((i: { stock: string }) => i.stock)).toEqual(['High', 'High', 'High']);
    // The window cuts by time: from poll 6 on, only the intervals that reach into it.
    const late = JSON.parse((await handler({ method: 'GET', url: `/api/history?since=${encodeURIComponent(iso(6))}`, headers: {} })).body);
    expect(late.dataCenters[0].intervals.map((i: { firstSeen: string }) => i.firstSeen)).toEqual([iso(6), iso(7), iso(6), iso(7)]);
    restarted.store.close();

    // `history --json` from the database file: the same shape; the text output a line per key.
    const json = testIo({});
    expect(await runCli(['history', '--json', '--db', path, '--since', '2026-11-29'], json)).toBe(0);
    expect(JSON.parse(json.out.text()).dataCenters).toEqual(api.dataCenters);
    const text = testIo({});
    expect(await runCli(['history', '--db', path, '--since', '2026-11-29'], text)).toBe(0);
    expect(text.out.text()).toContain(`data centers, ${A6000} x1 SECURE: EU-SE-1 None (5 intervals), US-TX-3 Medium (4 intervals)\n`);
  });

  it('writes nothing per data center for GraphQL offers, which carry none', async () => {
    const d = daemonFor(sim, YAML('graphql'));
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(d.store.history.intervals({ since: 0 })).toHaveLength(1);
    expect(d.store.history.dataCenterIntervals({ since: 0 })).toEqual([]);
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    expect(JSON.parse((await handler({ method: 'GET', url: '/api/history', headers: {} })).body).dataCenters).toEqual([]);
    d.store.close();
  });
});
