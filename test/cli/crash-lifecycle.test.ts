import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FaultInput } from '../../src/sim/scenario.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { exited, killRunWhen, spawnTs, until } from '../helpers/child.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

// kill -9 around each lifecycle action (a stuck pod terminated on its start timeout, a pod stopped
// at the end of its ttl, an idle pod stopped), at five points each: the daemon, a child process
// on the real clock, is killed; restarted, it must neither act on the pod twice nor leave it as it
// was, and tell the action once. The rule's times are a second or two, so each case is short.

const A6000 = 'NVIDIA RTX A6000';
/** Each case starts three or four daemons, a few seconds each on a loaded machine. */
const CASE_TIMEOUT_MS = 120_000;

interface Action {
  name: string;
  /** The rule's lifecycle keys. */
  keys: string;
  /** The mutation the watcher sends. */
  op: 'podTerminate' | 'podStop';
  /** The event that tells it done. */
  told: string;
  /** Brings the pod to the point where the next cycle acts (after the deploy, by run --once). */
  prepare: (podId: string) => Promise<void>;
  /** The pod as the action leaves it. */
  after: 'gone' | 'EXITED';
}

let sim: RunpodSimulator;
let dir: string;
let config: string;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  dir = await mkdtemp(join(tmpdir(), 'gw-crash-life-'));
  config = join(dir, 'watcher.yaml');
});
afterEach(async () => {
  await sim.close();
});

const env = () => ({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' });
const sinceDeploy = (ms: number) => until(() => Date.now() >= (sim.market.livePods()[0]?.createdAt ?? Infinity) + ms, 10_000);

async function writeConfig(keys: string): Promise<void> {
  await writeFile(
    config,
    `poll: { schedule: "0 0 * * * *", timeout: 30s }
store: { path: ${join(dir, 'w.db')} }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    maxDeploys: 1
    candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch, ports: "22/tcp" }
${keys}`,
  );
}

async function once(): Promise<void> {
  const child = spawnTs('src/cli.ts', ['run', '-c', config, '--once'], env());
  expect(await exited(child), child.output()).toBe(0);
}

/** Starts the daemon and kills it with SIGKILL once `ready` holds. */
async function killWhen(ready: () => boolean): Promise<void> {
  expect(await killRunWhen(config, env(), ready)).toBe('SIGKILL');
}

function query<T>(sql: string): T[] {
  const db = new Database(join(dir, 'w.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
const actionStatus = () => query<{ action_status: string | null }>('SELECT action_status FROM pod_lifecycle')[0]?.action_status ?? null;
/** Events of `type` told, but for ttl warnings (told ahead, not the action). */
const told = (type: string) => query<{ n: number }>(`SELECT count(*) AS n FROM events WHERE type = '${type}' AND body NOT LIKE '%"phase":"warning"%'`)[0]?.n ?? 0;
const sampledAt = () => query<{ util_at: number | null }>('SELECT util_at FROM pod_lifecycle')[0]?.util_at ?? null;

const ACTIONS: Action[] = [
  {
    name: 'terminate on start timeout',
    keys: '    startTimeout: 1s\n',
    op: 'podTerminate',
    told: 'pod.start_timeout',
    prepare: () => sinceDeploy(1_200),
    after: 'gone',
  },
  {
    name: 'stop at the end of ttl',
    keys: '    ttl: 2s\n    onExpiry: stop\n',
    op: 'podStop',
    told: 'pod.expired',
    prepare: async (podId) => {
      // RunPod's own stopAfter would act on the same instant: the watcher must act alone here.
      const pod = sim.market.pods.get(podId);
      if (pod) pod.stopAfter = null;
      await sinceDeploy(2_200);
    },
    after: 'EXITED',
  },
  {
    name: 'stop when idle',
    keys: '    idle: { gpuUtilBelow: 5, for: 1s, action: stop }\n',
    op: 'podStop',
    told: 'pod.stopped',
    prepare: async () => {
      await sinceDeploy(1_200);
      await once(); // ready, and the first idle sample
      const first = sampledAt();
      expect(first).not.toBeNull();
      await until(() => Date.now() >= (first ?? 0) + 1_100, 5_000);
    },
    after: 'EXITED',
  },
];

describe.each(ACTIONS)('kill -9 around a lifecycle action: $name', (action) => {
  const requests = () => sim.requestsFor(action.op);
  let podId = '';

  beforeEach(async () => {
    sim.market.setPodLife(A6000, action.op === 'podTerminate' ? { failure: 'never' } : { startIn: 0 });
    await writeConfig(action.keys);
    await once();
    podId = sim.market.livePods()[0]?.id ?? '';
    await action.prepare(podId);
  }, CASE_TIMEOUT_MS);

  /** After the restarts: one request, the pod as the action leaves it, told once. */
  function expectDoneOnce(): void {
    expect(requests()).toHaveLength(1);
    const pod = sim.market.pods.get(podId);
    if (action.after === 'gone') expect(pod?.desiredStatus).toBe('TERMINATED');
    else expect(pod?.desiredStatus).toBe('EXITED');
    expect(actionStatus()).toBe('done');
    expect(told(action.told)).toBe(1);
  }

  const hold = (at: 'before' | 'after', op: string): FaultInput => ({ kind: 'hold', at, op });

  it('killed while the pod list is held, before anything is decided', async () => {
    sim.fault(hold('before', 'myself'));
    await killWhen(() => sim.holding === 1);
    expect(requests()).toHaveLength(0);
    sim.release();
    await once();
    await once();
    expectDoneOnce();
  }, CASE_TIMEOUT_MS);

  it('killed while the action is held before RunPod acts on it, which it does after a restart', async () => {
    sim.fault(hold('before', action.op));
    await killWhen(() => sim.holding === 1);
    expect(actionStatus()).toBe('pending');
    await once();
    expect(requests()).toHaveLength(1);
    expect(actionStatus()).toBe('pending');
    sim.release();
    await until(() => sim.market.pods.get(podId)?.desiredStatus !== 'RUNNING', 10_000);
    await once();
    expectDoneOnce();
  }, CASE_TIMEOUT_MS);

  it('killed while RunPod has acted but its answer is held', async () => {
    sim.fault(hold('after', action.op));
    await killWhen(() => sim.holding === 1);
    expect(actionStatus()).toBe('pending');
    sim.release();
    await once();
    expectDoneOnce();
  }, CASE_TIMEOUT_MS);

  it('killed just after RunPod answered', async () => {
    await killWhen(() => requests()[0]?.status === 200);
    await once();
    await once();
    expectDoneOnce();
  }, CASE_TIMEOUT_MS);

  it('killed after the outcome was written', async () => {
    await killWhen(() => actionStatus() === 'done');
    await once();
    expectDoneOnce();
  }, CASE_TIMEOUT_MS);
});
