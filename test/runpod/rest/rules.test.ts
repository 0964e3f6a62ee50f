import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/store/store.js';
import { RunpodSimulator } from '../../../src/sim/server.js';
import { testMarket } from '../../helpers/market.js';
import { bodyOf } from '../../helpers/rest.js';
import { loopOverRest as restLoop } from '../../helpers/rest-loop.js';

const A6000 = 'NVIDIA RTX A6000';
const POLL = 30_000;
const CONFIG = `
rules:
  - name: trainer
    cloud: ALL
    minStock: Medium
    maxPods: 2
    candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch, env: { HF_TOKEN: hf_secret_token } }
`;

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

/** The watch loop and the rules engine as the daemon wires them, with the REST v2 client behind `RunpodApi`. */
const loopOverRest = () => restLoop(sim, store, CONFIG);

const events = () =>
  store.outbox
    .recent(100)
    .reverse()
    .map((e) => [e.type, e.details?.refusal ?? null]);

describe('the rules over REST v2, unchanged behind RunpodApi', () => {
  it('deploy through v2 on the cloud the offer was on, marked with the rule and deploy id; no spot', async () => {
    const { watcher } = loopOverRest();
    await watcher.tick();
    const creates = sim.requestsFor('createPod');
    expect(creates).toHaveLength(1);
    const body = bodyOf(creates[0]);
    expect(body).toMatchObject({ name: 'trainer', cloud: 'COMMUNITY', gpu: { id: A6000, count: 1 }, image: 'runpod/pytorch' });
    expect(body.env).toMatchObject({ GPU_WATCHER_RULE: 'trainer', HF_TOKEN: 'hf_secret_token', GPU_WATCHER_DEPLOY: store.journal.recent(1)[0]?.id });
    expect(store.journal.recent(1).map((r) => [r.status, r.kind, r.price])).toEqual([['succeeded', 'on-demand', 0.49]]);
    expect(events()).toEqual([['pod.deployed', null]]);
    expect(sim.rest.violations).toEqual([]);
  });

  it('a 402 makes deploys wait: told as a failed deploy with refusal payment and account.payment_required, nothing sent again within the hour', async () => {
    const { watcher, clock } = loopOverRest();
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod' });
    await watcher.tick();
    for (let i = 0; i < 3; i++) {
      clock.advance(POLL);
      await watcher.tick();
    }
    expect(sim.requestsFor('createPod').map((r) => r.status)).toEqual([402]);
    expect(events()).toEqual([['pod.deploy_failed', 'payment'], ['account.payment_required', null]]);
    expect(store.journal.recent(5).map((r) => [r.status, r.error])).toEqual([['failed', 'createPod: HTTP 402: insufficient balance']]);
    expect(store.outbox.recent(2)[1]?.summary).toContain("the account's balance is too low");
  });
});
