import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { crashTestConfig } from '../helpers/crash-config.js';

let sim: RunpodSimulator;
let dir: string;
let config: string;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  ({ dir, config } = await crashTestConfig('gw-crash-spend-'));
});
afterEach(async () => {
  await sim.close();
});

const env = { RUNPOD_API_URL: '', RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' };
const RATE = 360; // dollars per hour: a tenth of a dollar per second, so a stretch counted twice shows
const HOUR_MS = 3_600_000;

/** The spend the database file holds, read by a separate connection. */
function spendOnDisk(): { account: { dollars: number; seen_at: number } | undefined; days: number } {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  const account = db.prepare('SELECT dollars, seen_at FROM pod_spend').get() as { dollars: number; seen_at: number } | undefined;
  const days = (db.prepare('SELECT SUM(dollars) AS d FROM spend_days').get() as { d: number }).d;
  db.close();
  return { account, days };
}

describe('kill -9 after a cycle accounted its spend, then restart', () => {
  it('counts each stretch once: the spend is the bill up to the restarted cycle, to the cent', async () => {
    // A watcher pod of rule trainer, running since a whole second a minute ago (RunPod's
    // lastStatusChange has whole seconds); the rule still deploys a second pod, held before RunPod
    // acts on it, and the daemon is killed there: after the cycle's spend was written.
    const since = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const pod = sim.market.addExistingPod({
      name: 'trainer', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: RATE, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED',
      env: ['GPU_WATCHER_RULE=trainer', 'GPU_WATCHER_DEPLOY=dep_earlier'], statusChangedAt: since, startedAt: since,
    });
    sim.fault({ kind: 'hold', at: 'before', op: 'podFindAndDeployOnDemand' });
    const child = spawnTs('src/cli.ts', ['run', '-c', config], { ...env, RUNPOD_API_URL: sim.url });
    const exit = exited(child);
    await until(() => sim.holding === 1, 20_000);
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const crashed = spendOnDisk();
    expect(crashed.account?.dollars).toBeCloseTo((RATE * ((crashed.account?.seen_at ?? 0) - since)) / HOUR_MS, 6);

    const restarted = spawnTs('src/cli.ts', ['run', '-c', config, '--once'], { ...env, RUNPOD_API_URL: sim.url });
    expect(await exited(restarted)).toBe(0);
    const after = spendOnDisk();
    expect(after.account?.seen_at).toBeGreaterThan(crashed.account?.seen_at ?? Infinity);
    const billed = (RATE * ((after.account?.seen_at ?? 0) - since)) / HOUR_MS;
    expect(Math.abs((after.account?.dollars ?? 0) - billed)).toBeLessThan(0.01);
    expect(after.days).toBeCloseTo(after.account?.dollars ?? 0, 6);
    expect(sim.market.bill(pod.id)).toBeGreaterThanOrEqual(billed);
  });
});
