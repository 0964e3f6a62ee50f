import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { testIo } from '../helpers/capture.js';
import { TEST_KEY } from '../helpers/market.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { tempDbPath } from '../helpers/on-disk.js';

const A6000 = 'NVIDIA RTX A6000';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const RULE = (extra = '') => `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch }
    notify: [ops]
${extra}`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

/** The simulator and a daemon on one fake clock. */
async function setUp(yaml: string, dbPath?: string): Promise<{ d: ReturnType<typeof daemonFor>; clock: FakeClock }> {
  const clock = new FakeClock();
  sim = await RunpodSimulator.start(testMarket(), { clock });
  return { d: daemonFor(sim, yaml, { clock, metrics: true, ...(dbPath ? { dbPath } : {}) }), clock };
}

const total = (d: ReturnType<typeof daemonFor>): number => d.store.spend.byRule().reduce((sum, r) => sum + r.dollars, 0);
const onlyPod = () => {
  const pod = [...sim.market.pods.values()][0];
  if (!pod) throw new Error('no pod deployed');
  return pod;
};

describe('real spend against the simulator bill', () => {
  it('adds up to the bill within a cent over a life: deploy, run, stop, resume, a failed poll in between', async () => {
    const { d, clock } = await setUp(RULE('    maxDeploys: 1'));
    await d.watcher.tick();
    const pod = onlyPod();
    clock.advance(30 * MINUTE);
    await d.watcher.tick();
    clock.advance(20 * MINUTE);
    sim.market.stop({ podId: pod.id });
    clock.advance(10 * MINUTE);
    await d.watcher.tick();
    expect(total(d)).toBeCloseTo(sim.market.bill(pod.id), 2);
    clock.advance(HOUR);
    sim.market.resume({ podId: pod.id });
    clock.advance(7 * MINUTE);
    // One failed poll (its three attempts): a longer GraphQL outage falls back to REST v2 for the cycle, whose pods carry no status time.
    sim.fault({ kind: 'status', status: 500, op: 'gpuTypes', times: 3 });
    await d.watcher.tick();
    expect(d.store.history.lastPollRun()?.outcome).toBe('failed');
    clock.advance(30 * MINUTE);
    await d.watcher.tick();
    clock.advance(45 * MINUTE);
    await d.watcher.tick();
    expect(d.store.history.lastPollRun()?.outcome).toBe('ok');
    // Billed 50 minutes, then from the resume on: 82 minutes more (and the failed poll's retry
    // back-offs, which move the fake clock too), at $0.79/hr.
    expect(sim.market.bill(pod.id)).toBeCloseTo((0.79 * 132) / 60, 2);
    expect(Math.abs(total(d) - sim.market.bill(pod.id))).toBeLessThan(0.01);
    expect(d.store.spend.accounts()).toMatchObject([{ podId: pod.id, rule: 'trainer', billed: true }]);
  });

  it('a restart keeps the sum, and a crash between cycles never counts twice', async () => {
    const dbPath = tempDbPath();
    const { d, clock } = await setUp(RULE('    maxDeploys: 1'), dbPath);
    await d.watcher.tick();
    clock.advance(40 * MINUTE);
    await d.watcher.tick();
    const before = total(d);
    expect(before).toBeCloseTo(sim.market.bill(onlyPod().id), 6);
    // A crash right after that cycle: the process is gone without a clean stop; the next daemon
    // on the same database runs its first cycle at the same instant, then goes on.
    const next = daemonFor(sim, RULE('    maxDeploys: 1'), { clock, dbPath });
    await next.watcher.tick();
    expect(total(next)).toBeCloseTo(before, 9);
    d.store.close();
    clock.advance(25 * MINUTE);
    await next.watcher.tick();
    expect(total(next)).toBeCloseTo(sim.market.bill(onlyPod().id), 6);
    next.store.close();
    // A clean restart after a stretch with the daemon down: nothing lost, nothing doubled.
    clock.advance(3 * HOUR);
    const restarted = daemonFor(sim, RULE('    maxDeploys: 1'), { clock, dbPath });
    await restarted.watcher.tick();
    expect(total(restarted)).toBeCloseTo(sim.market.bill(onlyPod().id), 6);
    expect(sim.market.pods.size).toBe(1);
    restarted.store.close();
  });
});

describe('spend shown', () => {
  it('in /api/status, /metrics, `status` and `pods`, per rule, per pod and in total', async () => {
    const dbPath = tempDbPath();
    const { d, clock } = await setUp(`${RULE('    maxDeploys: 1\n')}budget: { maxSpend: { day: 50, month: 800 } }\n`, dbPath);
    await d.watcher.tick();
    clock.advance(2 * HOUR);
    await d.watcher.tick();
    const pod = onlyPod();
    expect(sim.market.bill(pod.id)).toBeCloseTo(1.58, 9);
    const handler = createHandler({ daemon: d, config: d.config, clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const get = async (url: string) => (await handler({ method: 'GET', url, headers: {} })).body;
    const status = JSON.parse(await get('/api/status'));
    expect(status.spend).toEqual({
      today: expect.closeTo(1.58, 6),
      thisMonth: expect.closeTo(1.58, 6),
      total: expect.closeTo(1.58, 6),
      maxSpend: { day: 50, month: 800 },
      byRule: [{ rule: 'trainer', dollars: expect.closeTo(1.58, 6) }],
      pods: [{ podId: pod.id, rule: 'trainer', dollars: expect.closeTo(1.58, 6), billed: true, accountedUpTo: new Date(clock.now()).toISOString() }],
    });
    expect(status.rules[0].spent).toBeCloseTo(1.58, 6);
    expect(await get('/metrics')).toMatch(/^gpuwatch_spend_dollars_total\{rule="trainer"\} 1\.58\d*$/m);

    // `status` reads the rules and budget the daemon kept in its database. It judges staleness by the
    // wall clock, and this daemon's fake clock is in the past: it prints, then exits 1 as stale.
    const text = testIo({ GPU_WATCHER_CONFIG: '' });
    expect(await runCli(['status', '--db', dbPath], text)).toBe(1);
    expect(text.err.text()).toMatch(/^error: the last poll was at \S+, over 90s \(3 schedule periods\) ago/);
    expect(text.out.text()).toContain('; pods 1/1; spent $1.58\n');
    expect(text.out.text()).toContain('spend: $1.58 today, $1.58 this month (UTC days), $1.58 in all; budget.maxSpend $50.00/day, $800.00/month (UTC)\n');
    const config = join(dirname(dbPath), 'watcher.yaml');
    writeFileSync(config, `${RULE('    maxDeploys: 1\n')}budget: { maxSpend: { day: 50, month: 800 } }\n`);
    const check = testIo({ GPU_WATCHER_CONFIG: '' });
    expect(await runCli(['check', '-c', config], check)).toBe(0);
    expect(check.out.text()).toContain('budget: spend at most $50.00/day, $800.00/month (UTC)\n');
    expect(text.out.text()).toContain(`  pod ${pod.id} (trainer): $1.58, billed as of ${new Date(clock.now()).toISOString()}\n`);
    const pods = testIo({ GPU_WATCHER_CONFIG: '', RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY });
    expect(await runCli(['pods', '--db', dbPath], pods)).toBe(0);
    expect(pods.out.text().split('\n')[1]).toMatch(new RegExp(`^${pod.id}\\s+trainer\\s+RUNNING\\s+2h\\s+0\\s+RTX A6000 x1\\s+on-demand\\s+\\$0\\.79\\s+trainer\\s+\\$1\\.58\\s+-$`));
    const json = testIo({ GPU_WATCHER_CONFIG: '', RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY });
    expect(await runCli(['pods', '--json', '--db', dbPath], json)).toBe(0);
    expect(JSON.parse(json.out.text())[0].spent).toBeCloseTo(1.58, 6);
    d.store.close();
  });
});

describe('budget.maxSpend', () => {
  /** Runs the first pod past the limit, then has the user stop it: only the budget holds the rule back. */
  async function spendThenStop(d: ReturnType<typeof daemonFor>, clock: FakeClock): Promise<void> {
    await d.watcher.tick();
    clock.advance(80 * MINUTE);
    await d.watcher.tick();
    sim.market.stop({ podId: onlyPod().id });
    for (let i = 0; i < 3; i++) {
      clock.advance(MINUTE);
      await d.watcher.tick();
    }
  }
  const deploys = () => sim.requestsFor('podFindAndDeployOnDemand').length;
  const blocked = (d: ReturnType<typeof daemonFor>) => d.events().filter((e) => e.type === 'budget.blocked');

  it('day: rests the rule once reached, tells budget.blocked once, and acts again the next UTC day', async () => {
    const { d, clock } = await setUp(`${RULE()}budget: { maxSpend: { day: 1 } }\n`);
    await spendThenStop(d, clock);
    expect(deploys()).toBe(1);
    expect(blocked(d)).toHaveLength(1);
    expect(blocked(d)[0]?.summary).toMatch(/^trainer held back by the budget: \$1\.05\d? spent today \(UTC\), budget\.maxSpend\.day \$1\.00$/);
    // 10:00 + 1h23m on 29 November: the next UTC day starts 12h37m later.
    clock.advance(12 * HOUR + 36 * MINUTE);
    await d.watcher.tick();
    expect(deploys()).toBe(1);
    clock.advance(2 * MINUTE);
    await d.watcher.tick();
    expect(deploys()).toBe(2);
    expect(blocked(d)).toHaveLength(1);
  });

  it('holds a resume entry back too, and counts its pod once resumed the next day', async () => {
    const A5000 = 'NVIDIA RTX A5000';
    const { d, clock } = await setUp(`${RULE('    maxDeploys: 1\n')}resume: [{ name: my-a5000, podId: stopped1, notify: [ops] }]\nbudget: { maxSpend: { day: 1 } }\n`);
    sim.market.addExistingPod({ id: 'stopped1', name: 'mine', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.36, gpuCount: 1, gpuTypeId: A5000, cloud: 'SECURE', podType: 'RESERVED', env: [] });
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'None' });
    await d.watcher.tick();
    clock.advance(80 * MINUTE);
    await d.watcher.tick();
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High' });
    for (let i = 0; i < 3; i++) {
      clock.advance(MINUTE);
      await d.watcher.tick();
    }
    expect(sim.requestsFor('podResume')).toHaveLength(0);
    expect(blocked(d).map((e) => [e.rule, e.summary])).toEqual([['my-a5000', expect.stringMatching(/^my-a5000 held back by the budget: \$1\.0\d+ spent today \(UTC\)/)]]);
    sim.market.stop({ podId: [...sim.market.pods.keys()].find((id) => id !== 'stopped1') ?? '' });
    clock.advance(13 * HOUR);
    await d.watcher.tick();
    expect(sim.requestsFor('podResume')).toHaveLength(1);
    clock.advance(HOUR);
    await d.watcher.tick();
    expect(d.store.spend.byRule().find((r) => r.rule === 'my-a5000')?.dollars).toBeCloseTo(sim.market.bill('stopped1'), 6);
    expect(sim.market.bill('stopped1')).toBeCloseTo(0.36, 6);
  });

  it('month: rests through the next day and acts again on the first of the next UTC month', async () => {
    const { d, clock } = await setUp(`${RULE()}budget: { maxSpend: { month: 1 } }\n`);
    await spendThenStop(d, clock);
    clock.advance(24 * HOUR);
    await d.watcher.tick();
    expect(deploys()).toBe(1);
    expect(blocked(d)).toHaveLength(1);
    expect(blocked(d)[0]?.summary).toContain('spent this month (UTC), budget.maxSpend.month $1.00');
    clock.advance(24 * HOUR);
    await d.watcher.tick();
    expect(new Date(clock.now()).toISOString().slice(0, 10)).toBe('2026-12-01');
    expect(deploys()).toBe(2);
  });
});
