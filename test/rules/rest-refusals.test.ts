import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAYMENT_WAIT_MS } from '../../src/rules/payment.js';
import { openStore, type Store } from '../../src/store/store.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { bodyOf } from '../helpers/rest.js';
import { loopOverRest } from '../helpers/rest-loop.js';

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const POLL = 30_000;

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

const CONFIG = `
notifiers:
  ops: { type: webhook, url: "http://127.0.0.1:9/hook" }
rules:
  - name: trainer
    cloud: SECURE
    minStock: Low
    retryAfter: 5m
    maxPods: 1
    candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }]
    pod: { imageName: runpod/pytorch }
    notify: [ops]
`;

const events = () =>
  store.outbox
    .recent(100)
    .reverse()
    .map((e) => [e.type, e.details?.refusal ?? null]);
const creates = () => sim.requestsFor('createPod').map((r) => [bodyOf(r).gpu.id, r.status]);

describe('403 on a create: no access to that GPU pool', () => {
  it('the candidate rests its retryAfter and the rule falls back in the same cycle; the key gate stays open', async () => {
    const { watcher, clock, auth } = loopOverRest(sim, store, CONFIG);
    sim.fault({ kind: 'rest', status: 403, detail: 'no access to this GPU pool', op: 'createPod' });
    await watcher.tick();
    expect(creates()).toEqual([[A6000, 403], [A5000, 201]]);
    expect(auth.open).toBe(true);
    expect(events()).toEqual([['pod.deploy_failed', 'no_access'], ['rule.fallback', null], ['pod.deployed', null]]);
    expect(store.outbox.recent(3)[2]?.summary).toContain('no access to that GPU pool');
    expect(store.journal.recent(2).map((r) => r.status)).toEqual(['succeeded', 'refused']);

    // The A5000 pod stops; within the A6000's retryAfter only the A5000 is tried.
    const pod = store.journal.recent(1)[0]?.podId ?? '';
    sim.market.stop({ podId: pod });
    clock.advance(POLL);
    await watcher.tick();
    expect(creates().at(-1)).toEqual([A5000, 201]);
  });

  it('a 403 on a read is still auth: the gate closes and nothing is deployed', async () => {
    const { watcher, auth } = loopOverRest(sim, store, CONFIG);
    sim.fault({ kind: 'rest', status: 403, detail: 'key scope', op: 'listPods', times: 3 });
    await watcher.tick();
    expect(auth.open).toBe(false);
    expect(creates()).toEqual([]);
  });
});

describe('402: the balance cannot pay', () => {
  it('tells account.payment_required once to every notifier; every deploy waits an hour, then tries once more; a deploy that goes through re-arms it', async () => {
    const { watcher, clock } = loopOverRest(sim, store, CONFIG);
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod', times: 2 });
    await watcher.tick();
    expect(creates()).toEqual([[A6000, 402]]); // no candidate is tried after it: none would be paid for
    expect(events()).toEqual([['pod.deploy_failed', 'payment'], ['account.payment_required', null]]);
    const told = store.outbox.recent(1)[0];
    expect(told).toMatchObject({ type: 'account.payment_required', details: { detail: 'createPod: HTTP 402: insufficient balance' } });
    expect(store.outbox.due('ops', Date.now() + 86_400_000, 10).map((d) => d.event.type)).toContain('account.payment_required');

    for (let t = POLL; t < PAYMENT_WAIT_MS; t += POLL) {
      clock.advance(POLL);
      await watcher.tick();
    }
    expect(creates()).toHaveLength(1);

    clock.advance(POLL);
    await watcher.tick(); // an hour on: one more try, refused again, not told again
    expect(creates()).toEqual([[A6000, 402], [A6000, 402]]);
    expect(events().filter(([type]) => type === 'account.payment_required')).toHaveLength(1);

    clock.advance(PAYMENT_WAIT_MS);
    await watcher.tick(); // topped up in between: it deploys
    expect(creates().at(-1)).toEqual([A6000, 201]);
    expect(store.daemon.paymentRequired.get()).toBeNull();

    sim.market.stop({ podId: store.journal.recent(1)[0]?.podId ?? '' });
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod' });
    clock.advance(POLL);
    await watcher.tick(); // a new stretch without funds is told anew
    expect(events().filter(([type]) => type === 'account.payment_required')).toHaveLength(2);
  });

  it('is told once per stretch across a restart; the restarted daemon tries once at once', async () => {
    const clock = new FakeClock();
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod', times: 2 });
    await loopOverRest(sim, store, CONFIG, clock).watcher.tick();
    clock.advance(POLL);
    await loopOverRest(sim, store, CONFIG, clock).watcher.tick();
    expect(creates()).toEqual([[A6000, 402], [A6000, 402]]);
    expect(events().filter(([type]) => type === 'account.payment_required')).toHaveLength(1);
  });
});
