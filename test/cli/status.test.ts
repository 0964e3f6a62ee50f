import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { REFUSALS } from '../../src/sim/market.js';
import { testIo } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

describe('gpu-watcher status', () => {
  it('reports the last poll, each rule with its refusals, alerts, live watcher pods and undelivered events from the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-status-'));
    const db = join(dir, 'w.db');
    const file = join(dir, 'c.yaml');
    await writeFile(
      file,
      `store: { path: ${db} }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
alerts: [{ name: a6000-up, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: High }, notify: [ops] }]
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    minStock: Low
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }, { gpu: NVIDIA RTX A5000, maxPrice: 0.50 }]
    pod: { imageName: i }
    notify: [ops]
`,
    );
    sim.fault({ kind: 'graphqlError', message: REFUSALS.capacity, code: 'SUPPLY_CONSTRAINT', op: 'podFindAndDeployOnDemand' });
    expect(await runCli(['run', '-c', file, '--once'], testIo({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'silent' }))).toBe(0);

    const json = testIo({});
    expect(await runCli(['status', '-c', file, '--json'], json)).toBe(0);
    const status = JSON.parse(json.out.text());
    expect(status.lastPoll).toMatchObject({ outcome: 'ok', polls: 1 });
    expect(status.api).toEqual({ source: 'graphql', down: false, downSince: null, failuresInARow: 0 });
    expect(status.rules).toEqual([
      {
        name: 'trainer',
        deploys: 1,
        maxDeploys: null,
        pods: 1,
        maxPods: 1,
        last: { at: expect.any(String), outcome: 'deployed', detail: expect.stringContaining('on NVIDIA RTX A5000 (on-demand)') },
        blocked: null,
        waitingOutRetryAfter: [{ gpu: 'NVIDIA RTX A6000', until: expect.any(String) }],
        spent: 0,
      },
    ]);
    expect(status.alerts).toEqual([{ name: 'a6000-up', firing: true, firedAt: expect.any(String) }]);
    expect(status.livePods.pods.map((p: { name: string; gpuTypeId: string }) => [p.name, p.gpuTypeId])).toEqual([['trainer', 'NVIDIA RTX A5000']]);
    // pod.deploy_failed (the A6000 refusal), rule.fallback, pod.deployed, alert.fired.
    expect(status.undelivered.pending + status.undelivered.failed).toBe(4);

    const text = testIo({});
    expect(await runCli(['status', '-c', file], text)).toBe(0);
    expect(text.out.text()).toMatch(/^last poll: ok at /);
    expect(text.out.text()).toContain('RunPod API (GraphQL): up');
    expect(text.out.text()).toContain('rule trainer: deployed');
    expect(text.out.text()).toContain('  NVIDIA RTX A6000 refused, skipped until ');
    expect(text.out.text()).toContain('alert a6000-up: firing since ');
    expect(text.out.text()).toContain('live watcher pods as of ');
    expect(text.out.text()).toMatch(/undelivered events: \d pending, \d given up/);
  });

  it("reads the rules from the database it is pointed at, and exits 1 when RunPod is down or the last poll is stale", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-status-'));
    const db = join(dir, 'w.db');
    const other = join(dir, 'other.yaml');
    await writeFile(other, 'rules: [{ name: elsewhere, candidates: [{ gpu: X, maxPrice: 1 }], pod: { imageName: i } }]\n');
    const rule = 'rules: [{ name: trainer, cloud: SECURE, candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 5 }], pod: { imageName: i } }]\n';
    const d = daemonFor(sim, rule, { dbPath: db, clock: new FakeClock(Date.now()) });
    await d.watcher.tick();
    const fresh = testIo({});
    expect(await runCli(['status', '-c', other, '--db', db, '--json'], fresh)).toBe(0);
    expect(JSON.parse(fresh.out.text()).rules.map((r: { name: string }) => r.name)).toEqual(['trainer']);

    sim.fault({ kind: 'status', status: 502, times: 1_000, op: 'gpuTypes' });
    for (let poll = 0; poll < 3; poll++) await d.watcher.tick();
    d.store.close();
    const down = testIo({});
    expect(await runCli(['status', '--db', db], down)).toBe(1);
    expect(down.out.text()).toContain('RunPod API (GraphQL): DOWN since ');
    expect(down.err.text()).toMatch(/^error: RunPod API down since \S+ \(3 failed polls in a row\)\n$/);

    sim.clearFaults();
    const staleDb = join(dir, 'stale.db');
    const old = daemonFor(sim, rule, { dbPath: staleDb, clock: new FakeClock(Date.now() - 91_000) });
    await old.watcher.tick();
    old.store.close();
    const stale = testIo({});
    expect(await runCli(['status', '--db', staleDb], stale)).toBe(1);
    expect(stale.err.text()).toMatch(/^error: the last poll was at \S+, over 90s \(3 schedule periods\) ago: is the daemon running\?\n$/);
  });
});
