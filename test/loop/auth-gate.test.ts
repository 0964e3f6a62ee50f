import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { WRITE_RETRY_MS } from '../../src/loop/auth-gate.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const POLL = 30_000;
const RULE = `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }
`;
const REFUSED = /RunPod refused the API key: no deploys or resumes/g;
const ACCEPTED = /RunPod accepts the API key again/g;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

const deploys = () => sim.requestsFor('podFindAndDeployOnDemand');

describe('the key gate opens only on a call that needed the key', () => {
  it('a snapshot, which needs no key, does not re-accept a key RunPod refuses for the pod list', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Unauthorized', op: 'myself', times: 1_000 });
    const d = daemonFor(sim, RULE);
    for (let poll = 0; poll < 4; poll++) {
      expect((await d.watcher.tick())?.outcome).toBe('ok');
      expect(d.auth.open).toBe(false);
      d.clock.advance(POLL);
    }
    expect(deploys()).toHaveLength(0);
    expect(d.logs.text().match(REFUSED)).toHaveLength(1);
    expect(d.logs.text()).not.toMatch(ACCEPTED);
    expect(d.logs.text()).not.toContain(TEST_KEY);

    sim.clearFaults();
    await d.watcher.tick();
    expect(d.auth.open).toBe(true);
    expect(d.logs.text().match(ACCEPTED)).toHaveLength(1);
    expect(deploys()).toHaveLength(1);
  });

  it('a null account without an error is a bad answer, not a refused key: the rules wait a cycle', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'nulls', op: 'myself', times: 1_000 });
    const d = daemonFor(sim, RULE);
    for (let poll = 0; poll < 3; poll++) {
      await d.watcher.tick();
      d.clock.advance(POLL);
    }
    expect(d.auth.open).toBe(true);
    expect(d.logs.text()).not.toMatch(REFUSED);
    expect(d.logs.text()).toContain('could not read the pod list; rules wait this cycle');
    expect(deploys()).toHaveLength(0);
    sim.clearFaults();
    await d.watcher.tick();
    expect(deploys()).toHaveLength(1);
  });

  it('a key refused for a deploy stays refused while the pod list reads, and one deploy tries it again after an hour', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Unauthorized', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, RULE);
    await d.watcher.tick();
    const refusedAt = d.clock.monotonic();
    expect([deploys().length, d.auth.open, d.auth.accepted]).toEqual([1, false, false]);
    while (d.clock.monotonic() + POLL < refusedAt + WRITE_RETRY_MS) {
      d.clock.advance(POLL);
      await d.watcher.tick();
    }
    expect(sim.requestsFor('myself').length).toBeGreaterThan(100);
    expect([deploys().length, d.auth.open]).toEqual([1, false]);
    d.clock.advance(refusedAt + WRITE_RETRY_MS - d.clock.monotonic());
    await d.watcher.tick();
    expect(deploys()).toHaveLength(2);
    expect([d.auth.open, d.auth.accepted]).toEqual([true, true]);
    expect(sim.market.livePods()).toHaveLength(1);
    expect(d.logs.text().match(REFUSED)).toHaveLength(1);
  });
});
