import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { bodyOf } from '../helpers/rest.js';
import { loopOverRest } from '../helpers/rest-loop.js';
import { openStore } from '../../src/store/store.js';

// A pod's life after its deploy, against the simulator, with one fake clock for both sides.

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const POLL = 30_000;
const MIN = 60_000;

let sim: RunpodSimulator;
let clock: FakeClock;
afterEach(async () => {
  await sim.close();
});

async function start(extra: string, candidates = `[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.50 }]`) {
  clock = new FakeClock();
  sim = await RunpodSimulator.start(testMarket(), { clock });
  const d = daemonFor(
    sim,
    `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - name: trainer
    cloud: SECURE
    minStock: Low
    spot: never
    retryAfter: 5m
    candidates: ${candidates}
    pod: { imageName: runpod/pytorch, ports: "8888/http,22/tcp" }
    notify: [ops]
${extra}`,
    { clock },
  );
  /** Moves both clocks by `ms`, then runs one cycle. */
  const cycle = async (ms = POLL): Promise<void> => {
    clock.advance(ms);
    await d.watcher.tick();
  };
  return { d, cycle, types: () => d.events().map((e) => e.type) };
}

const terminates = () => sim.requestsFor('podTerminate').map((r) => bodyOf(r).variables.input.podId);
const stops = () => sim.requestsFor('podStop').map((r) => bodyOf(r).variables.input.podId);
const deployed = () => sim.requestsFor('podFindAndDeployOnDemand').map((r) => bodyOf(r).variables.input);

describe('pod.ready', () => {
  it('is told once, when the runtime is up, with how long it took, the ssh line and the proxy URL', async () => {
    const { d, cycle, types } = await start('');
    sim.market.setPodLife(A6000, { startIn: 95_000 });
    await d.watcher.tick();
    const [pod] = sim.market.livePods();
    await cycle();
    await cycle();
    await cycle();
    expect(types()).toEqual(['pod.deployed']);
    await cycle(); // 120 s after the deploy: up since 25 s
    await cycle();
    await cycle();
    expect(types()).toEqual(['pod.deployed', 'pod.ready']);
    const ready = d.events()[1];
    const listed = await d.api.getPod(pod?.id ?? '');
    const tcp = listed?.runtime?.ports.find((p) => p.privatePort === 22);
    expect(ready).toMatchObject({
      rule: 'trainer',
      pod: { id: pod?.id },
      details: {
        readyAfterSeconds: 120,
        ssh: `ssh root@${tcp?.ip} -p ${tcp?.publicPort}`,
        ports: [
          { privatePort: 8888, type: 'http', url: `https://${pod?.id}-8888.proxy.runpod.net` },
          { privatePort: 22, type: 'tcp', address: `${tcp?.ip}:${tcp?.publicPort}` },
        ],
      },
    });
    expect(ready?.summary).toContain(`ssh root@${tcp?.ip} -p ${tcp?.publicPort}`);
    d.store.close();
  });
});

describe('a pod that never gets ready', () => {
  it('is terminated after startTimeout, its deploy counts as refused, and the next candidate deploys in the same cycle', async () => {
    const { d, cycle, types } = await start('    startTimeout: 10m\n    maxDeploys: 1');
    sim.market.setPodLife(A6000, { startIn: 30_000, failure: 'never' });
    await d.watcher.tick();
    const [stuck] = sim.market.livePods();
    for (let i = 0; i < 19; i++) await cycle();
    expect(terminates()).toEqual([]);
    await cycle(); // 10 minutes
    expect(terminates()).toEqual([stuck?.id]);
    expect(deployed().map((input) => input.gpuTypeId)).toEqual([A6000, A5000]);
    expect(sim.market.livePods().map((p) => p.gpuTypeId)).toEqual([A5000]);
    expect(types()).toEqual(['pod.deployed', 'pod.start_timeout', 'rule.fallback', 'pod.deployed']);
    expect(d.events()[1]).toMatchObject({ pod: { id: stuck?.id }, details: { candidate: A6000, waitedSeconds: 600, status: 'RUNNING' } });
    expect(d.store.journal.recent(2).map((r) => r.status)).toEqual(['succeeded', 'refused']);
    for (let i = 0; i < 5; i++) await cycle();
    expect(terminates()).toHaveLength(1);
    expect(deployed()).toHaveLength(2);
    d.store.close();
  });
});

describe('ttl', () => {
  it('warns warnBefore ahead, then the watcher stops the pod itself; RunPod is given stopAfter too', async () => {
    const { d, cycle, types } = await start('    ttl: 1h\n    warnBefore: 10m');
    await d.watcher.tick();
    const [pod] = sim.market.livePods();
    expect(deployed()[0]?.stopAfter).toBe(new Date(clock.now() + 3_600_000).toISOString());
    // RunPod's own stopAfter would act on the same instant: here the watcher must act alone.
    if (pod) pod.stopAfter = null;
    await cycle(49 * MIN);
    expect(types()).toEqual(['pod.deployed', 'pod.ready']);
    await cycle(MIN);
    expect(types()).toEqual(['pod.deployed', 'pod.ready', 'pod.expired']);
    expect(d.events()[2]?.details).toMatchObject({ phase: 'warning', action: 'stop' });
    await cycle(9 * MIN);
    expect(stops()).toEqual([]);
    await cycle(MIN);
    expect(stops()).toEqual([pod?.id]);
    expect(sim.market.pods.get(pod?.id ?? '')?.desiredStatus).toBe('EXITED');
    expect(d.events().at(-1)).toMatchObject({ type: 'pod.expired', details: { phase: 'ended', by: 'watcher', action: 'stop' } });
    // afterEnd rest (the default): no replacement.
    for (let i = 0; i < 3; i++) await cycle();
    expect(deployed()).toHaveLength(1);
    d.store.close();
  });

  it('a pod RunPod stopped itself at its stopAfter is told as ended by RunPod, with nothing sent', async () => {
    const { d, cycle } = await start('    ttl: 1h\n    onExpiry: terminate\n    afterEnd: replace');
    await d.watcher.tick();
    await cycle(61 * MIN);
    expect(terminates()).toEqual([]);
    expect(d.events().find((e) => e.type === 'pod.expired' && e.details?.phase === 'ended')?.details).toMatchObject({ by: 'runpod', action: 'terminate' });
    // afterEnd replace: a new pod.
    expect(deployed()).toHaveLength(2);
    d.store.close();
  });
});

describe('idle', () => {
  const IDLE = '    idle: { gpuUtilBelow: 5, for: 30m, action: stop }\n    warnBefore: 10m';

  it('an idle pod is told at for - warnBefore and stopped after for; it is not replaced', async () => {
    const { d, cycle, types } = await start(IDLE);
    sim.market.setPodLife(A6000, { gpuUtil: 90, busyFor: 60 * MIN });
    await d.watcher.tick();
    const [pod] = sim.market.livePods();
    for (let i = 0; i < 3 * 60; i++) {
      await cycle(MIN);
      if (stops().length > 0) break;
    }
    // Busy for an hour after coming up, idle from the first sample after that, stopped 30 minutes later.
    const told = d.events().filter((e) => e.type === 'pod.idle' || e.type === 'pod.stopped');
    expect(told.map((e) => e.type)).toEqual(['pod.idle', 'pod.stopped']);
    const idleSince = Date.parse(String(told[0]?.details?.idleSince));
    expect(Date.parse(told[0]?.time ?? '') - idleSince).toBe(20 * MIN);
    expect(Date.parse(told[1]?.time ?? '') - idleSince).toBe(30 * MIN);
    expect(stops()).toEqual([pod?.id]);
    expect(types().filter((t) => t === 'pod.deployed')).toHaveLength(1);
    for (let i = 0; i < 5; i++) await cycle();
    expect(deployed()).toHaveLength(1);
    d.store.close();
  });

  it('a busy pod is never stopped', async () => {
    const { d, cycle, types } = await start(IDLE);
    sim.market.setPodLife(A6000, { gpuUtil: 60 });
    await d.watcher.tick();
    for (let i = 0; i < 3 * 60; i++) await cycle(MIN);
    expect(stops()).toEqual([]);
    expect(types()).toEqual(['pod.deployed', 'pod.ready']);
    d.store.close();
  });
});

describe('a lifecycle action whose answer is lost', () => {
  it('is settled from the pod list: not sent again within 2 minutes while the pod shows unchanged, then sent once more and told once', async () => {
    const { d, cycle, types } = await start('    startTimeout: 5m');
    sim.market.setPodLife(A6000, { failure: 'never' });
    await d.watcher.tick();
    const [stuck] = sim.market.livePods();
    // The connection drops before RunPod acts: the watcher cannot know, so it waits for the pod list.
    sim.fault({ kind: 'reset', op: 'podTerminate' });
    for (let i = 0; i < 10; i++) await cycle();
    expect(terminates()).toEqual([stuck?.id]);
    expect(d.store.lifecycle.get(stuck?.id ?? '')?.actionStatus).toBe('pending');
    expect(types()).toEqual(['pod.deployed']);
    await cycle(); // 2 minutes after: still listed, so RunPod never had it
    await cycle();
    await cycle();
    await cycle();
    expect(terminates()).toEqual([stuck?.id, stuck?.id]);
    expect(sim.market.pods.get(stuck?.id ?? '')?.desiredStatus).toBe('TERMINATED');
    expect(types().filter((t) => t === 'pod.start_timeout')).toHaveLength(1);
    d.store.close();
  });

  it('RunPod acted and the answer was lost: the next pod list shows it done, nothing is sent again', async () => {
    const { d, cycle, types } = await start('    ttl: 1h');
    await d.watcher.tick();
    const [pod] = sim.market.livePods();
    if (pod) pod.stopAfter = null;
    // RunPod stops the pod but answers no pod (every root field null).
    sim.fault({ kind: 'nulls', op: 'podStop' });
    await cycle(61 * MIN);
    expect(stops()).toEqual([pod?.id]);
    await cycle();
    await cycle(10 * MIN);
    expect(stops()).toEqual([pod?.id]);
    expect(types().filter((t) => t === 'pod.expired')).toHaveLength(1);
    expect(d.events().at(-1)?.details).toMatchObject({ phase: 'ended', by: 'watcher' });
    d.store.close();
  });
});

describe('REST v2', () => {
  it('a pod RunPod shows in ERROR is terminated at once, before its startTimeout, and the next candidate deploys', async () => {
    clock = new FakeClock();
    sim = await RunpodSimulator.start(testMarket(), { clock });
    sim.market.setPodLife(A6000, { startIn: 20_000, failure: 'error' });
    const store = openStore(':memory:');
    const { watcher } = loopOverRest(
      sim,
      store,
      `rules:\n  - { name: trainer, cloud: SECURE, minStock: Low, startTimeout: 10m, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.50 }], pod: { imageName: i } }\n`,
      clock,
    );
    await watcher.tick();
    clock.advance(POLL);
    await watcher.tick();
    const actions = () => sim.requestsFor('podAction').map((r) => bodyOf(r).action);
    expect(actions()).toEqual(['terminate']);
    expect(sim.market.livePods().map((p) => p.gpuTypeId)).toEqual([A5000]);
    expect(store.outbox.recent(10).find((e) => e.type === 'pod.start_timeout')?.details).toMatchObject({ status: 'ERROR', waitedSeconds: 30 });
    expect(sim.rest.violations).toEqual([]);
    store.close();
  });
});
