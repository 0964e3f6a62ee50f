import { writeFile } from 'node:fs/promises';
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

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

describe('the status document', () => {
  it('is the same from `gpu-watcher status --json` beside the daemon as from its /api/status, but for what only the daemon knows', async () => {
    const db = tempDbPath();
    const yaml = `store: { path: ${db} }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
alerts: [{ name: a6000-up, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: High }, notify: [ops] }]
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
`;
    const file = `${db}.yaml`;
    await writeFile(file, yaml);
    // On today's clock: the CLI judges the last poll's age by the real time.
    const d = daemonFor(sim, yaml, { dbPath: db, clock: new FakeClock(Date.now()) });
    await d.watcher.tick();
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const { now: httpNow, live, ...fromHttp } = JSON.parse((await handler({ method: 'GET', url: '/api/status', headers: {} })).body);

    const io = testIo({});
    expect(await runCli(['status', '-c', file, '--json'], io)).toBe(0);
    const { now: cliNow, live: cliLive, ...fromCli } = JSON.parse(io.out.text());
    d.store.close();

    expect(fromCli).toEqual(fromHttp);
    expect(fromHttp.rules.map((r: { name: string; pods: number }) => [r.name, r.pods])).toEqual([['trainer', 1]]);
    expect(fromHttp.recentEvents.map((e: { type: string }) => e.type).sort()).toEqual(['alert.fired', 'pod.deployed']);
    expect([typeof httpNow, typeof cliNow]).toEqual(['string', 'string']);
    expect(cliLive).toBeNull();
    expect(Object.keys(live)).toEqual(['dryRun', 'keyAccepted', 'snapshot', 'counters']);
    expect(live.counters.polls).toEqual({ ok: 1, partial: 0, failed: 0 });
  });
});
