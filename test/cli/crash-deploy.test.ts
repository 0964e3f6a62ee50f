import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { exited, spawnTs, until } from '../helpers/child.js';

let sim: RunpodSimulator;
let dir: string;
let config: string;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  dir = await mkdtemp(join(tmpdir(), 'gw-crash-'));
  config = join(dir, 'watcher.yaml');
  await writeFile(
    config,
    `poll: { schedule: "0 0 * * * *", timeout: 30s }
store: { path: ${join(dir, 'w.db')} }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch }
`,
  );
});
afterEach(async () => {
  await sim.close();
});

const env = { RUNPOD_API_URL: '', RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' };
const deploys = () => sim.requestsFor('podFindAndDeployOnDemand');

/** Starts the daemon, lets it send its deploy, and kills it with SIGKILL once `ready` holds. */
async function killDuringDeploy(ready: () => boolean): Promise<void> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config], { ...env, RUNPOD_API_URL: sim.url });
  const exit = exited(child);
  await until(ready);
  child.kill('SIGKILL');
  expect(await exit).toBe('SIGKILL');
}

/** One more cycle, as a restarted daemon does first. */
async function restartOnce(): Promise<string> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config, '--once'], { ...env, RUNPOD_API_URL: sim.url });
  expect(await exited(child)).toBe(0);
  return child.output();
}

function journal(): { status: string; pod_id: string | null }[] {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  const rows = db.prepare('SELECT status, pod_id FROM deploys').all() as { status: string; pod_id: string | null }[];
  db.close();
  return rows;
}

describe('kill -9 around a deploy, then restart: exactly one pod', () => {
  it('killed while RunPod has made the pod but its answer is held', async () => {
    sim.fault({ kind: 'hold', at: 'after', op: 'podFindAndDeployOnDemand' });
    await killDuringDeploy(() => sim.holding === 1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal().map((r) => r.status)).toEqual(['pending']);
    sim.release();

    const output = await restartOnce();
    expect(output).toContain('a deploy whose answer was lost did make its pod');
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal()).toEqual([{ status: 'succeeded', pod_id: sim.market.livePods()[0]?.id }]);
  });

  it('killed while the deploy is held before RunPod acts on it, which it does after the restart', async () => {
    sim.fault({ kind: 'hold', at: 'before', op: 'podFindAndDeployOnDemand' });
    await killDuringDeploy(() => sim.holding === 1);
    expect(sim.market.livePods()).toHaveLength(0);

    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(journal().map((r) => r.status)).toEqual(['pending']);

    sim.release();
    await until(() => sim.market.livePods().length === 1);
    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal().map((r) => r.status)).toEqual(['succeeded']);
  });

  it('killed just after RunPod answered', async () => {
    await killDuringDeploy(() => deploys()[0]?.status === 200);
    await restartOnce();
    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal().map((r) => r.status)).toEqual(['succeeded']);
  });
});
