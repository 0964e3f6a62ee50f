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

// The config (test/helpers/crash-config.ts) lets only the journal stop a second deploy.
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  ({ dir, config } = await crashTestConfig('gw-crash-'));
});
afterEach(async () => {
  await sim.close();
});

const env = { RUNPOD_API_URL: '', RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' };
const deploys = () => sim.requestsFor('podFindAndDeployOnDemand');

/** The deploy id the first deploy mutation carried in its pod env (GPU_WATCHER_DEPLOY). */
function sentDeployId(): string | undefined {
  const input = JSON.parse(deploys()[0]?.body ?? '{}').variables?.input as { env?: { key: string; value: string }[] } | undefined;
  return input?.env?.find((e) => e.key === 'GPU_WATCHER_DEPLOY')?.value;
}

/** Starts the daemon, lets it send its deploy, and kills it with SIGKILL once `ready` holds. */
async function killDuringDeploy(ready: () => boolean): Promise<void> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config], { ...env, RUNPOD_API_URL: sim.url });
  const exit = exited(child);
  await until(ready, 20_000);
  child.kill('SIGKILL');
  expect(await exit).toBe('SIGKILL');
}

/** One more cycle, as a restarted daemon does first. */
async function restartOnce(): Promise<string> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config, '--once'], { ...env, RUNPOD_API_URL: sim.url });
  expect(await exited(child)).toBe(0);
  return child.output();
}

/** The journal as the database file holds it, read by a separate connection. */
function journal(): { id: string; status: string; pod_id: string | null }[] {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  const rows = db.prepare('SELECT id, status, pod_id FROM deploys').all() as { id: string; status: string; pod_id: string | null }[];
  db.close();
  return rows;
}

describe('kill -9 around a deploy, then restart: exactly one pod', () => {
  it('killed while RunPod has made the pod but its answer is held', async () => {
    sim.fault({ kind: 'hold', at: 'after', op: 'podFindAndDeployOnDemand' });
    await killDuringDeploy(() => sim.holding === 1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal()).toEqual([{ id: sentDeployId(), status: 'pending', pod_id: null }]);
    sim.release();

    const output = await restartOnce();
    expect(output).toContain('a deploy whose answer was lost did make its pod');
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal()).toEqual([{ id: sentDeployId(), status: 'succeeded', pod_id: sim.market.livePods()[0]?.id }]);
  });

  it('killed while the deploy is held before RunPod acts on it, which it does after the restart', async () => {
    sim.fault({ kind: 'hold', at: 'before', op: 'podFindAndDeployOnDemand' });
    await killDuringDeploy(() => sim.holding === 1);
    expect(sim.market.livePods()).toHaveLength(0);
    expect(journal()).toEqual([{ id: sentDeployId(), status: 'pending', pod_id: null }]);

    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(journal().map((r) => r.status)).toEqual(['pending']);

    sim.release();
    await until(() => sim.market.livePods().length === 1, 20_000);
    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal()).toEqual([{ id: sentDeployId(), status: 'succeeded', pod_id: sim.market.livePods()[0]?.id }]);
  });

  it('killed just after RunPod answered', async () => {
    await killDuringDeploy(() => deploys()[0]?.status === 200);
    // The entry was committed before the mutation went out. Whether the kill landed before or
    // after the daemon completed it is a race this test does not control: either is correct.
    const [entry, ...more] = journal();
    expect(more).toEqual([]);
    expect(entry?.id).toBe(sentDeployId());
    expect(['pending', 'succeeded']).toContain(entry?.status);

    await restartOnce();
    await restartOnce();
    expect(deploys()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(journal()).toEqual([{ id: sentDeployId(), status: 'succeeded', pod_id: sim.market.livePods()[0]?.id }]);
  });
});
