import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { waitUntil } from '../helpers/wait.js';

const POLL = 30_000;
const A6000 = 'NVIDIA RTX A6000';
const RULE = (source: string, extra = '') => `
api: { source: ${source} }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
${extra}
rules:
  - { name: trainer, cloud: SECURE, spot: never, maxPods: 1, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }
`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

const deploys = () => sim.requestsFor('podFindAndDeployOnDemand').length + sim.requests.filter((r) => r.method === 'POST' && r.url === '/v2/pods').length;
const rootsOf = (index: number) => [...new Set(sim.requests[index]?.rootFields ?? [])].sort();

/** A market with `count` GPU types besides the test market's, and a `watch:` list of them all. */
function wideMarket(count: number): string {
  const ids = Array.from({ length: count }, (_, i) => `GPU ${i}`);
  for (const [i, id] of ids.entries()) sim.market.set({ gpu: id, cloud: 'SECURE', stock: 'High', price: 1 + i / 100 });
  return `watch:\n${ids.map((id) => `  - { gpu: "${id}", cloud: SECURE }`).join('\n')}`;
}

describe('one request a cycle over GraphQL', () => {
  it.each([1, 10, 50])('%i watched keys with a rule active: one HTTP request per cycle, the pod list inside it', async (count) => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE('graphql', wideMarket(count)));
    for (let cycle = 1; cycle <= 3; cycle++) {
      const before = sim.requests.length;
      const result = await d.watcher.tick();
      expect(result).toMatchObject({ outcome: 'ok', offers: count + 1 });
      // The first cycle also deploys: that mutation is the only other request.
      const reads = sim.requests.slice(before).filter((r) => !r.rootFields.includes('podFindAndDeployOnDemand'));
      expect(reads).toHaveLength(1);
      expect(rootsOf(before)).toEqual(['gpuTypes', 'myself']);
      d.clock.advance(POLL);
    }
    expect(deploys()).toBe(1);
  });

  it('without rules no pod list is asked for', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, `watch: [{ gpu: ${A6000}, cloud: SECURE }]`);
    await d.watcher.tick();
    expect(sim.requests).toHaveLength(1);
    expect(rootsOf(0)).toEqual(['gpuTypes']);
  });

  it('the pod part failing alone: the market is recorded, the rules wait a cycle, then act', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', scope: 'op', op: 'myself', message: 'Something went wrong. Please try again later or contact support.' });
    const d = daemonFor(sim, RULE('graphql'));
    expect(await d.watcher.tick()).toMatchObject({ outcome: 'ok', offers: 1 });
    expect(sim.requests).toHaveLength(1);
    expect(d.store.history.intervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.stock])).toEqual([[A6000, 'High']]);
    expect(deploys()).toBe(0);
    expect(d.logs.text()).toContain('could not read the pod list; rules wait this cycle');
    expect(d.auth.open).toBe(true);
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deploys()).toBe(1);
  });

  it('a key refused on myself alone closes the gate; the market is still recorded', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', scope: 'op', op: 'myself', message: 'Unauthorized', times: 2 });
    const d = daemonFor(sim, RULE('graphql'));
    for (let cycle = 0; cycle < 2; cycle++) {
      expect(await d.watcher.tick()).toMatchObject({ outcome: 'ok', offers: 1 });
      expect(d.auth.open).toBe(false);
      d.clock.advance(POLL);
    }
    // One request a cycle: the market part answered, so nothing was asked again.
    expect(sim.requests).toHaveLength(2);
    expect(deploys()).toBe(0);
    await d.watcher.tick();
    expect(d.auth.open).toBe(true);
    expect(deploys()).toBe(1);
    expect(d.logs.text()).not.toContain(TEST_KEY);
  });

  it('a refused key that fails the whole request: the market is asked alone and recorded, the gate closes', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', scope: 'request', message: 'Unauthorized', op: 'myself' });
    const d = daemonFor(sim, RULE('graphql'));
    expect(await d.watcher.tick()).toMatchObject({ outcome: 'ok', offers: 1 });
    expect([rootsOf(0), rootsOf(1)]).toEqual([['gpuTypes', 'myself'], ['gpuTypes']]);
    expect(d.auth.open).toBe(false);
    expect(deploys()).toBe(0);
  });
});

describe('one round of requests a cycle over REST v2', () => {
  it('the catalog calls and the pod list go out together', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE('rest', `watch: [{ gpu: ${A6000}, cloud: COMMUNITY, gpuCount: 2 }]`));
    // Two catalog pairs (1 SECURE, 2 COMMUNITY) and the pod list: all three held at once.
    sim.fault({ kind: 'hold', at: 'before', times: 3 });
    const cycle = d.watcher.tick();
    await waitUntil(() => sim.holding === 3, { what: 'two catalog requests and the pod list held at once' });
    expect(sim.requests.map((r) => r.url.split('?')[0]).sort()).toEqual(['/v2/catalog/gpus', '/v2/catalog/gpus', '/v2/pods']);
    sim.release();
    expect(await cycle).toMatchObject({ outcome: 'ok', offers: 2 });
    expect(deploys()).toBe(1);
  });

  it('the pod list failing alone: the market is recorded, the rules wait a cycle', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'rest', status: 500, op: 'listPods', times: 3 });
    const d = daemonFor(sim, RULE('rest'));
    expect(await d.watcher.tick()).toMatchObject({ outcome: 'ok', offers: 1 });
    expect(d.store.history.intervals({ since: 0 })).toHaveLength(1);
    expect(deploys()).toBe(0);
    expect(d.logs.text()).toContain('could not read the pod list; rules wait this cycle');
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deploys()).toBe(1);
  });

  it('without rules no pod list is asked for', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, `api: { source: rest }\nwatch: [{ gpu: ${A6000}, cloud: SECURE }]`);
    await d.watcher.tick();
    expect(sim.requests.map((r) => r.url.split('?')[0])).toEqual(['/v2/catalog/gpus']);
  });
});
