import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { exited, killRunWhen, spawnTs, until } from '../helpers/child.js';
import { crashTestConfig } from '../helpers/crash-config.js';

let sim: RunpodSimulator;
let dir: string;
let config: string;

// api.source auto, and the crash tests' config (test/helpers/crash-config.ts): only the journal stops a
// second deploy, so a journal lost or misread across the kill and the switch shows as a second
// create at the simulator (through either API) and a second pod.
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket({ steps: [{ note: 'sunset', retire: 'graphql' }] }));
  ({ dir, config } = await crashTestConfig('gw-crash-switch-', '{ source: auto }'));
});
afterEach(async () => {
  await sim.close();
});

const env = () => ({ RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' });
/** Every create the simulator received, through either API, held ones included. */
const creates = () => sim.requests.filter((r) => r.rootFields.includes('podFindAndDeployOnDemand') || r.rootFields.includes('createPod'));
const sent = (op: string, status?: number) => sim.requests.some((r) => r.rootFields.includes(op) && (status === undefined || r.status === status));

/** Starts the daemon and kills it with SIGKILL once `ready` holds. */
async function killWhen(ready: () => boolean): Promise<void> {
  expect(await killRunWhen(config, env(), ready)).toBe('SIGKILL');
}

/** One cycle, as a restarted daemon does first. */
async function restartOnce(): Promise<void> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config, '--once'], env());
  expect(await exited(child)).toBe(0);
}

function fromDb<T>(sql: string): T[] {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  const rows = db.prepare(sql).all() as T[];
  db.close();
  return rows;
}

/**
 * After the kill: whatever the simulator held goes on (a held create makes its pod), GraphQL is
 * retired if it was not yet, and the daemon is restarted twice. Then there is exactly one pod, one
 * create across both APIs, one journal entry that succeeded with that pod, and at most one
 * api.switched (exactly one once the daemon has run on a retired GraphQL).
 */
async function settle(options: { retire: boolean }): Promise<void> {
  sim.release();
  if (options.retire) sim.advance();
  // A create that went out is answered (a held one makes its pod once released) before the restart.
  await until(() => sim.requests.every((r) => r.answeredAt > 0), 20_000);
  await restartOnce();
  await restartOnce();
  expect(creates()).toHaveLength(1);
  expect(sim.market.livePods()).toHaveLength(1);
  expect(fromDb<{ status: string; pod_id: string | null }>('SELECT status, pod_id FROM deploys')).toEqual([{ status: 'succeeded', pod_id: sim.market.livePods()[0]?.id }]);
  expect(fromDb("SELECT name FROM watcher_state WHERE name = 'api_switched'")).toHaveLength(1);
  const switched = fromDb<{ n: number }>("SELECT COUNT(*) AS n FROM events WHERE type = 'api.switched'")[0]?.n;
  expect(switched).toBe(1);
  expect(sim.rest.violations).toEqual([]);
}

describe('kill -9 around the switch to REST v2, then restart: one create across both APIs', () => {
  describe('GraphQL retired before the first cycle: the cycle switches and deploys through v2', () => {
    beforeEach(() => {
      sim.advance();
    });

    it('1. killed just after GraphQL first answered 410', async () => {
      await killWhen(() => sim.requests.some((r) => r.status === 410));
      await settle({ retire: false });
    });

    it('2. killed while the v2 catalog request (the poll retried through v2) is held', async () => {
      sim.fault({ kind: 'hold', at: 'before', op: 'listGpuTypes' });
      await killWhen(() => sim.holding === 1);
      expect(creates()).toEqual([]);
      await settle({ retire: false });
    });

    it('3. killed while the v2 pod list is held', async () => {
      sim.fault({ kind: 'hold', at: 'before', op: 'listPods' });
      await killWhen(() => sim.holding === 1);
      expect(creates()).toEqual([]);
      await settle({ retire: false });
    });

    it('4. killed while the v2 create is held before RunPod acts on it', async () => {
      sim.fault({ kind: 'hold', at: 'before', op: 'createPod' });
      await killWhen(() => sim.holding === 1);
      expect(sim.market.livePods()).toHaveLength(0);
      await settle({ retire: false });
    });

    it('5. killed while the v2 create made its pod but its answer is held', async () => {
      sim.fault({ kind: 'hold', at: 'after', op: 'createPod' });
      await killWhen(() => sim.holding === 1);
      expect(sim.market.livePods()).toHaveLength(1);
      await settle({ retire: false });
    });

    it('6. killed just after the v2 create answered', async () => {
      await killWhen(() => sent('createPod', 201));
      await settle({ retire: false });
    });
  });

  describe('a deploy through GraphQL, GraphQL retired while the daemon is down: reconciled through v2', () => {
    it('7. killed while the GraphQL deploy is held before RunPod acts on it', async () => {
      sim.fault({ kind: 'hold', at: 'before', op: 'podFindAndDeployOnDemand' });
      await killWhen(() => sim.holding === 1);
      await settle({ retire: true });
    });

    it('8. killed while the GraphQL deploy made its pod but its answer is held (found in the v2 list by its env markers)', async () => {
      sim.fault({ kind: 'hold', at: 'after', op: 'podFindAndDeployOnDemand' });
      await killWhen(() => sim.holding === 1);
      expect(sim.market.livePods()).toHaveLength(1);
      await settle({ retire: true });
    });

    it('9. killed just after the GraphQL deploy answered', async () => {
      await killWhen(() => sent('podFindAndDeployOnDemand', 200));
      await settle({ retire: true });
    });
  });

  it('10. GraphQL answers the deploy 410 (never processed), the same deploy goes to v2 and is held there: killed', async () => {
    sim.fault({ kind: 'status', status: 410, op: 'podFindAndDeployOnDemand' });
    sim.fault({ kind: 'hold', at: 'before', op: 'createPod' });
    await killWhen(() => sim.holding === 1);
    expect(sent('podFindAndDeployOnDemand', 410)).toBe(true);
    sim.release();
    await until(() => sim.market.livePods().length === 1, 20_000);
    // GraphQL itself still answers: the switch persisted by the killed daemon holds after the restart.
    const before = sim.requests.length;
    await restartOnce();
    expect(sim.requests.slice(before).every((r) => r.url.startsWith('/v2'))).toBe(true);
    await restartOnce();
    // One create per API, and the one that reached RunPod made the only pod.
    expect(creates().map((r) => [r.rootFields[0], r.status])).toEqual([
      ['podFindAndDeployOnDemand', 410],
      ['createPod', 201],
    ]);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(fromDb<{ status: string }>('SELECT status FROM deploys')).toEqual([{ status: 'succeeded' }]);
  });
});
