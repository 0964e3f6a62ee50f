import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';
import { bodyOf } from '../helpers/rest.js';
import { loopOverRest } from '../helpers/rest-loop.js';

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const POLL = 30_000;
const RETRY = 5 * 60_000;

let sim: RunpodSimulator;
let store: Store;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  store = openStore(':memory:');
});
afterEach(async () => {
  store.close();
  await sim.close();
});

const rule = (candidates: string, extra = '') => `
rules:
  - name: trainer
    cloud: SECURE
    minStock: Low
    retryAfter: 5m
    candidates: ${candidates}
    pod: { imageName: runpod/pytorch }${extra}
`;

const events = () =>
  store.outbox
    .recent(100)
    .reverse()
    .map((e) => e.type);
const stops = () => sim.requestsFor('podAction').map((r) => [r.url.split('/').at(-2), bodyOf(r).action, r.status]);
const creates = () => sim.requestsFor('createPod').map((r) => [bodyOf(r).gpu.id, r.status]);

describe('the over-price guard: a pod RunPod made above maxPrice × gpuCount', () => {
  it('is stopped at once, told as pod.over_price, and the rule falls back to the next candidate in the same cycle', async () => {
    const { watcher } = loopOverRest(sim, store, rule(`[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }]`));
    sim.market.createMarkup.set(A6000, 1.5); // 0.79 listed, 1.185 charged: over the 0.80 ceiling
    await watcher.tick();

    expect(creates()).toEqual([[A6000, 201], [A5000, 201]]);
    const [dear, cheap] = store.journal.recent(2).reverse();
    expect(stops()).toEqual([[dear?.podId, 'stop', 200]]);
    expect(sim.market.pods.get(dear?.podId ?? '')?.desiredStatus).toBe('EXITED');
    expect([dear?.status, cheap?.status]).toEqual(['refused', 'succeeded']);
    expect(dear?.error).toContain('above the ceiling of $0.80/hr');
    expect(events()).toEqual(['pod.over_price', 'rule.fallback', 'pod.deployed']);
    const told = store.outbox.recent(3).at(-1);
    expect(told).toMatchObject({
      type: 'pod.over_price',
      rule: 'trainer',
      gpu: { id: A6000, gpuCount: 1, cloud: 'SECURE' },
      pod: { id: dear?.podId, costPerHr: 1.185 },
      details: { candidate: A6000, costPerHr: 1.185, ceiling: 0.8, stopped: true },
    });
    expect(store.outbox.recent(2).at(-1)?.details).toMatchObject({ passedOver: [expect.stringContaining('made above maxPrice')] });
  });

  it('the candidate rests its retryAfter, and a stopped pod counts toward neither maxDeploys nor maxPods', async () => {
    const { watcher, clock } = loopOverRest(sim, store, rule(`[{ gpu: ${A6000}, maxPrice: 0.80 }]`, '\n    maxDeploys: 1\n    maxPods: 1'));
    sim.market.createMarkup.set(A6000, 1.5);
    await watcher.tick();
    expect(events()).toEqual(['pod.over_price', 'rule.exhausted']);
    for (let t = POLL; t < RETRY; t += POLL) {
      clock.advance(POLL);
      await watcher.tick();
    }
    expect(creates()).toHaveLength(1); // resting: a dear pod is not made and stopped each cycle

    clock.advance(POLL);
    await watcher.tick();
    expect(creates()).toHaveLength(2); // retryAfter over: tried again, still dear, stopped again
    expect(stops()).toHaveLength(2);

    sim.market.createMarkup.clear();
    clock.advance(RETRY);
    await watcher.tick();
    expect(creates()).toEqual([[A6000, 201], [A6000, 201], [A6000, 201]]);
    expect(store.journal.recent(5).map((r) => r.status)).toEqual(['succeeded', 'refused', 'refused']);
    expect(store.journal.succeededCount('trainer')).toBe(1);

    clock.advance(RETRY);
    await watcher.tick();
    expect(creates()).toHaveLength(3); // maxDeploys: 1 is reached by the one good pod only
    expect(events().filter((e) => e === 'pod.over_price')).toHaveLength(2);
    expect(events().at(-1)).toBe('pod.deployed');
  });

  it('a stop that fails leaves the pod running: told with stopped false, kept as deployed, nothing more made', async () => {
    const { watcher, clock } = loopOverRest(sim, store, rule(`[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }]`, '\n    maxPods: 1'));
    sim.market.createMarkup.set(A6000, 1.5);
    sim.fault({ kind: 'rest', status: 409, detail: 'cannot stop a pod that is PROVISIONING', op: 'podAction' });
    await watcher.tick();
    expect(creates()).toEqual([[A6000, 201]]);
    expect(store.outbox.recent(1)[0]).toMatchObject({ type: 'pod.over_price', details: { stopped: false, stopError: expect.stringContaining('409') } });
    expect(store.outbox.recent(1)[0]?.summary).toContain('could NOT stop it');
    expect(store.journal.recent(1)[0]?.status).toBe('succeeded');
    clock.advance(POLL);
    await watcher.tick();
    expect(creates()).toHaveLength(1); // the running pod fills maxPods

    sim.market.stop({ podId: store.journal.recent(1)[0]?.podId ?? '' });
    clock.advance(POLL);
    await watcher.tick();
    expect(creates()).toEqual([[A6000, 201], [A5000, 201]]); // the dear candidate rests its retryAfter all the same
  });

  it('applies to a pod GraphQL made too (its deployCost ceiling makes it rare)', async () => {
    const d = daemonFor(sim, rule(`[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }]`));
    sim.market.createMarkup.set(A6000, 1.5);
    await d.watcher.tick();
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(2);
    expect(sim.requestsFor('podStop')).toHaveLength(1);
    expect(d.events().map((e) => e.type)).toEqual(['pod.over_price', 'rule.fallback', 'pod.deployed']);
    expect(d.store.journal.recent(2).map((r) => r.status)).toEqual(['succeeded', 'refused']);
    d.store.close();
  });
});
