import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { REFUSALS } from '../../src/sim/market.js';
import { REDACTED } from '../../src/lib/sanitise.js';
import { UNKNOWN_DEPLOY_GRACE_MS } from '../../src/rules/reconcile.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { waitUntil } from '../helpers/wait.js';

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const POLL = 30_000;

const RULE = (extra = '', candidates = `[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.50 }]`) => `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - name: trainer
    cloud: SECURE
    minStock: Medium
    candidates: ${candidates}
    pod: { imageName: runpod/pytorch, env: { HF_TOKEN: hf_secret_token } }
    notify: [ops]
${extra}`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

const deployRequests = () => sim.requests.filter((r) => r.rootFields.some((f) => f === 'podFindAndDeployOnDemand' || f === 'podRentInterruptable'));
const variablesOf = (i: number) => JSON.parse(deployRequests()[i]?.body ?? '{}').variables.input;

describe('rules that deploy, end to end against the simulator', () => {
  it('stock None -> High yields exactly one deploy', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'None' });
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(0);
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'High' });
    for (let i = 0; i < 4; i++) {
      d.clock.advance(POLL);
      await d.watcher.tick();
    }
    expect(deployRequests()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
    const input = variablesOf(0);
    expect(input).toMatchObject({ gpuTypeId: A6000, gpuCount: 1, cloudType: 'SECURE', deployCost: 0.8, name: 'trainer', imageName: 'runpod/pytorch' });
    const env = Object.fromEntries(input.env.map((e: { key: string; value: string }) => [e.key, e.value]));
    expect(env.GPU_WATCHER_RULE).toBe('trainer');
    expect(env.GPU_WATCHER_DEPLOY).toMatch(/^dep_[0-9a-f]{20}$/);
    expect(d.store.journal.recent(5).map((r) => [r.status, r.kind, r.price, r.podId])).toEqual([['succeeded', 'on-demand', 0.79, sim.market.livePods()[0]?.id]]);
    const events = d.events();
    expect(events.map((e) => e.type)).toEqual(['rule.exhausted', 'pod.deployed']);
    expect(events[1]).toMatchObject({
      rule: 'trainer',
      dryRun: false,
      summary: `trainer deployed ${A6000} x1 on-demand at $0.79/GPU/hr (pod ${sim.market.livePods()[0]?.id})`,
      gpu: { id: A6000, gpuCount: 1, cloud: 'SECURE', stockStatus: 'High', uninterruptablePrice: 0.79, minimumBidPrice: 0.41 },
      pod: { kind: 'on-demand', costPerHr: 0.79, name: 'trainer' },
    });
    expect(JSON.stringify(events)).not.toContain('hf_secret_token');
    expect(d.logs.text()).not.toContain('hf_secret_token');
  });

  it('Low on the first candidate falls back to the second, and says so', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'Low' });
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High' });
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(variablesOf(0)).toMatchObject({ gpuTypeId: A5000, deployCost: 0.5 });
    expect(d.events().map((e) => [e.type, e.summary])).toEqual([
      ['rule.fallback', `trainer fell back to ${A5000}: ${A6000} stock (stock Low, minStock Medium)`],
      ['pod.deployed', `trainer deployed ${A5000} x1 on-demand at $0.36/GPU/hr (pod ${sim.market.livePods()[0]?.id})`],
    ]);
  });

  it('a capacity refusal on the first deploys the second in the same cycle, and rests the first for retryAfter', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High' });
    sim.fault({ kind: 'graphqlError', message: REFUSALS.capacity, code: 'SUPPLY_CONSTRAINT', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.50 }]`).replace('minStock: Medium', 'minStock: Medium\n    maxPods: 2\n    retryAfter: 5m'));
    await d.watcher.tick();
    expect(deployRequests().map((_, i) => variablesOf(i).gpuTypeId)).toEqual([A6000, A5000]);
    expect(sim.market.livePods().map((p) => p.gpuTypeId)).toEqual([A5000]);
    expect(d.store.journal.recent(5).map((r) => [r.gpuTypeId, r.status]).reverse()).toEqual([
      [A6000, 'refused'],
      [A5000, 'succeeded'],
    ]);
    expect(d.events().map((e) => e.type)).toEqual(['pod.deploy_failed', 'rule.fallback', 'pod.deployed']);
    expect(d.events()[0]).toMatchObject({
      rule: 'trainer',
      details: { candidate: A6000, kind: 'on-demand', refusal: 'capacity', message: `podFindAndDeployOnDemand: ${REFUSALS.capacity}`, next: `${A6000} is skipped for 5m; trying the next candidate ${A5000}` },
    });
    expect(d.events()[1]?.summary).toContain(`${A6000} refused by RunPod`);
    expect(d.logs.text()).toContain(`trying the next candidate ${A5000}`);

    // One deploy per cycle: the second pod (maxPods 2) comes next cycle, and not on the A6000 until
    // its window has passed.
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests().map((_, i) => variablesOf(i).gpuTypeId)).toEqual([A6000, A5000, A5000]);
  });

  it('a bid at or above minimumBidPrice deploys spot with that bid', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }]`));
    await d.watcher.tick();
    expect(sim.requestsFor('podRentInterruptable')).toHaveLength(1);
    expect(variablesOf(0)).toMatchObject({ gpuTypeId: A6000, bidPerGpu: 0.45, cloudType: 'SECURE' });
    expect(variablesOf(0).deployCost).toBeUndefined();
    expect(sim.market.livePods()[0]).toMatchObject({ podType: 'INTERRUPTABLE', costPerHr: 0.45 });
    expect(d.events().at(-1)?.summary).toContain('spot at a bid of $0.45/GPU/hr');
  });

  it('maxPods rests the rule while its pod lives, and replaces the pod when it is stopped', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    const first = sim.market.livePods()[0];
    if (!first) throw new Error('no pod');
    first.desiredStatus = 'EXITED';
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(2);
  });

  it('maxDeploys disarms the rule after its deploys, even when the pod is gone', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE().replace('minStock: Medium', 'minStock: Medium\n    maxDeploys: 1'));
    await d.watcher.tick();
    const pod = sim.market.livePods()[0];
    if (!pod) throw new Error('no pod');
    pod.desiredStatus = 'TERMINATED';
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
  });

  it('the budget holds rules back, counting deploys made earlier in the same cycle, and says so once', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High' });
    const yaml = `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
budget: { maxPods: 3, maxHourlySpend: 1.00 }
rules:
  - { name: first, cloud: SECURE, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
  - { name: second, cloud: SECURE, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }], pod: { imageName: i }, notify: [ops] }
  - { name: third, cloud: SECURE, spot: never, candidates: [{ gpu: ${A5000}, maxPrice: 0.40 }], pod: { imageName: i }, notify: [ops] }
`;
    const d = daemonFor(sim, yaml);
    await d.watcher.tick();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(sim.market.livePods().map((p) => [p.name, p.gpuTypeId, p.costPerHr])).toEqual([['first', A6000, 0.79]]);
    expect(d.events().map((e) => [e.type, e.rule])).toEqual([
      ['pod.deployed', 'first'],
      ['budget.blocked', 'second'],
      ['budget.blocked', 'third'],
    ]);
    expect(d.events()[1]?.summary).toContain('passes budget.maxHourlySpend $1.00');
  });

  it('budget maxPods rests every rule once the watcher has that many pods', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const yaml = `
budget: { maxPods: 1 }
rules:
  - { name: first, cloud: SECURE, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i } }
  - { name: second, cloud: SECURE, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i } }
`;
    const d = daemonFor(sim, yaml);
    await d.watcher.tick();
    expect(sim.market.livePods().map((p) => p.name)).toEqual(['first']);
    expect(d.events().map((e) => [e.type, e.rule])).toEqual([
      ['pod.deployed', 'first'],
      ['budget.blocked', 'second'],
    ]);
  });

  it('resumes a stopped pod when its GPU type has stock again, and not before', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.addExistingPod({ id: 'mypod1', name: 'notebook', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'RESERVED', env: [] });
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    const d = daemonFor(sim, `
notifiers: { ops: { type: slack, url: "http://127.0.0.1:9/slack" } }
resume: [{ name: my-a6000, podId: mypod1, notify: [ops] }]
`);
    await d.watcher.tick(); // learns the pod's GPU type
    d.clock.advance(POLL);
    await d.watcher.tick(); // watches it: no stock
    expect(sim.requestsFor('podResume')).toHaveLength(0);
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'Low' });
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(sim.requestsFor('podResume')).toHaveLength(1);
    expect(sim.market.pods.get('mypod1')?.desiredStatus).toBe('RUNNING');
    expect(d.events().map((e) => [e.type, e.summary])).toEqual([['pod.resumed', `my-a6000 resumed pod mypod1 (${A6000} x1) on-demand`]]);
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(sim.requestsFor('podResume')).toHaveLength(1);
  });

  it('a resume refused for a full host waits, then tries again', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.addExistingPod({ id: 'spot1', name: 'spotty', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.45, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'INTERRUPTABLE', env: [] });
    sim.fault({ kind: 'graphqlError', message: REFUSALS.hostFull, op: 'podBidResume' });
    const d = daemonFor(sim, `resume: [{ name: spotty, podId: spot1, bid: 0.50 }]`);
    await d.watcher.tick();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(sim.requestsFor('podBidResume')).toHaveLength(1);
    const refusedAt = d.clock.now();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(sim.requestsFor('podBidResume')).toHaveLength(1);
    d.clock.advance(refusedAt + 5 * 60_000 - 1 - d.clock.now());
    await d.watcher.tick();
    expect(sim.requestsFor('podBidResume')).toHaveLength(1);
    d.clock.advance(1);
    await d.watcher.tick();
    expect(sim.requestsFor('podBidResume')).toHaveLength(2);
    expect(JSON.parse(sim.requestsFor('podBidResume')[1]?.body ?? '{}').variables.input).toEqual({ podId: 'spot1', gpuCount: 1, bidPerGpu: 0.5 });
    expect(sim.market.pods.get('spot1')).toMatchObject({ desiredStatus: 'RUNNING', costPerHr: 0.5 });
  });
});

describe('every refused deploy is told', () => {
  const capacity = { kind: 'graphqlError', message: REFUSALS.capacity, code: 'SUPPLY_CONSTRAINT', op: 'podFindAndDeployOnDemand' } as const;
  const types = (d: ReturnType<typeof daemonFor>) => d.events().map((e) => e.type);

  it('a capacity refusal after rule.exhausted is told, and rule.exhausted again because its reasons changed', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    expect(types(d)).toEqual(['rule.exhausted']);
    expect(d.events()[0]?.details).toEqual({ reasons: { [A6000]: 'stock', [A5000]: 'stock' } });

    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'High' });
    sim.fault(capacity);
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(types(d)).toEqual(['rule.exhausted', 'pod.deploy_failed', 'rule.exhausted']);
    expect(d.events()[1]).toMatchObject({
      rule: 'trainer',
      summary: `trainer could not deploy ${A6000} on-demand: RunPod has no capacity for it (podFindAndDeployOnDemand: ${REFUSALS.capacity}); ${A6000} is skipped for 5m; no candidate left this cycle; rule exhausted`,
      gpu: { id: A6000, stockStatus: 'High' },
      details: { candidate: A6000, kind: 'on-demand', refusal: 'capacity', message: `podFindAndDeployOnDemand: ${REFUSALS.capacity}` },
    });
    expect(d.events()[2]?.details).toEqual({ reasons: { [A6000]: 'refused', [A5000]: 'stock' } });
    expect(d.logs.text()).toContain('no candidate left this cycle; rule exhausted');
    expect(d.logs.text()).not.toContain('trying the next candidate');

    // Waiting out its retryAfter window is the same reason: nothing new to tell.
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(types(d)).toHaveLength(3);

    // Refused again once the window has passed: the attempt is told, the reasons are unchanged.
    d.clock.advance(5 * 60_000);
    sim.fault(capacity);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(2);
    expect(types(d)).toEqual(['rule.exhausted', 'pod.deploy_failed', 'rule.exhausted', 'pod.deploy_failed']);
  });

  it('prices drifting by a cent, or a poll without data for a candidate, do not tell rule.exhausted again; a new kind of reason does', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High', price: 0.6 });
    const d = daemonFor(sim, RULE());
    // 0.90 → 0.92 is over maxPrice 0.80 all along; NaN makes RunPod fail on the A6000 alone (no data).
    for (const price of [0.9, 0.91, 0.92, Number.NaN, 0.91]) {
      sim.market.set({ gpu: A6000, cloud: 'SECURE', price });
      await d.watcher.tick();
      d.clock.advance(POLL);
    }
    expect(d.store.history.pollRuns(0).map((r) => r.outcome)).toEqual(['ok', 'partial', 'ok']);
    expect(types(d)).toEqual(['rule.exhausted']);
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    await d.watcher.tick();
    expect(types(d)).toEqual(['rule.exhausted', 'rule.exhausted']);
    expect(d.events()[1]?.details).toEqual({ reasons: { [A6000]: 'stock', [A5000]: 'price' } });
  });

  it('HTTP 410 on a deploy is told as retired, and no other candidate is tried', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.market.set({ gpu: A5000, cloud: 'SECURE', stock: 'High' });
    sim.fault({ kind: 'status', status: 410, op: 'podFindAndDeployOnDemand' });
    // Pinned to GraphQL: under `auto` the deploy would go to REST v2 instead (test/daemon/api-switch.test.ts).
    const d = daemonFor(sim, `api: { source: graphql }\n${RULE()}`);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(types(d)).toEqual(['pod.deploy_failed']);
    expect(d.events()[0]).toMatchObject({ details: { candidate: A6000, refusal: 'retired' } });
    expect(d.events()[0]?.summary).toContain('no deploys until the watcher moves to the newer API');
    expect(d.store.journal.recent(1)[0]?.status).toBe('failed');
  });

  it('RunPod echoing the pod env in an error leaks it nowhere: not the journal, the event, the log or the database', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Invalid pod input:', echoInput: true, op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, RULE(), { dbPath: tempDbPath() });
    await d.watcher.tick();
    expect(types(d)).toEqual(['pod.deploy_failed']);
    const event = d.events()[0];
    expect(event?.details?.message).toContain(`"HF_TOKEN","value":"${REDACTED}"`);
    expect(d.store.journal.recent(1)[0]?.error).toContain(`"HF_TOKEN","value":"${REDACTED}"`);
    const everything = JSON.stringify([
      d.events(),
      d.store.journal.recent(5),
      ...onDisk(d.store.path, (db) => ['deploys', 'events', 'rule_state'].map((table) => db.prepare(`SELECT * FROM ${table}`).all())),
    ]);
    for (const text of [everything, d.logs.text()]) {
      expect(text).not.toContain('hf_secret_token');
      expect(text).not.toContain(TEST_KEY);
    }
  });
});

describe('when RunPod retires spot', () => {
  it('goes on with on-demand where the rule allows it and tells the user once', async () => {
    sim = await RunpodSimulator.start(testMarket({ spotRetired: true }));
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }]`));
    await d.watcher.tick();
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
    const pod = sim.market.livePods()[0];
    if (!pod) throw new Error('no pod');
    pod.desiredStatus = 'EXITED';
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(d.events().map((e) => e.type)).toEqual(['spot.unavailable', 'pod.deployed', 'pod.deployed']);
  });

  it('falls back to on-demand on the same candidate, in the same cycle, when only the spot mutation is refused', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Cannot query field "podRentInterruptable" on type "Mutation".', code: 'GRAPHQL_VALIDATION_FAILED', op: 'podRentInterruptable' });
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }]`));
    await d.watcher.tick();
    expect(deployRequests().map((r) => r.rootFields[0])).toEqual(['podRentInterruptable', 'podFindAndDeployOnDemand']);
    expect(d.events().map((e) => e.type)).toEqual(['pod.deploy_failed', 'spot.unavailable', 'pod.deployed']);
    expect(d.events()[0]).toMatchObject({ details: { kind: 'spot', refusal: 'unsupported', next: 'trying on-demand on the same candidate' } });
    expect(d.engine.spotAvailable).toBe(false);
  });

  it('a spot mutation refused by name does not retire spot when the same candidate on-demand fails too', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Cannot query field "podRentInterruptable" on type "Mutation".', code: 'GRAPHQL_VALIDATION_FAILED', op: 'podRentInterruptable' });
    sim.fault({ kind: 'graphqlError', message: REFUSALS.capacity, code: 'SUPPLY_CONSTRAINT', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }]`));
    await d.watcher.tick();
    expect(deployRequests().map((r) => r.rootFields[0])).toEqual(['podRentInterruptable', 'podFindAndDeployOnDemand']);
    expect(d.events().map((e) => [e.type, e.details?.kind, e.details?.refusal])).toEqual([
      ['pod.deploy_failed', 'spot', 'unsupported'],
      ['pod.deploy_failed', 'on-demand', 'capacity'],
      ['rule.exhausted', undefined, undefined],
    ]);
    expect(d.engine.spotAvailable).toBe(true);
  });

  it('a bare HTTP 400 on a deploy is an invalid request, not a retired spot', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 400, op: 'podRentInterruptable' });
    const d = daemonFor(sim, RULE('', `[{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }]`));
    await d.watcher.tick();
    expect(d.events().map((e) => e.type)).toEqual(['pod.deploy_failed']);
    expect(d.engine.spotAvailable).toBe(true);
  });
});

describe('a deploy is never sent twice', () => {
  it('after a lost answer, the rule waits; the pod list then confirms the deploy', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'hold', at: 'before', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, `poll: { timeout: 1s }\n${RULE()}`);
    await d.watcher.tick();
    expect(d.store.journal.recent(1)[0]?.status).toBe('unknown');
    // RunPod has not acted on it yet: no pod to count, only the journal keeps the rule waiting.
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(d.store.journal.recent(1)[0]?.status).toBe('unknown');
    sim.release();
    await waitUntil(() => deployRequests()[0]?.status === 200, { what: 'the simulator answering the late deploy' });
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(d.store.journal.recent(1)[0]).toMatchObject({ status: 'succeeded', podId: sim.market.livePods()[0]?.id });
    expect(d.events().map((e) => e.type)).toEqual(['pod.deploy_failed', 'pod.deployed']);
    expect(d.events()[1]?.summary).toContain('confirmed from the pod list');
  });

  it('a deploy that never made a pod frees the rule only after the grace period', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'reset', op: 'podFindAndDeployOnDemand' });
    expect(UNKNOWN_DEPLOY_GRACE_MS).toBe(600_000);
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    expect(d.store.journal.recent(1)[0]?.status).toBe('unknown');
    d.clock.advance(10 * 60_000 - 1);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    d.clock.advance(1);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(2);
    expect(d.store.journal.recent(2)[1]).toMatchObject({ status: 'failed', error: expect.stringContaining('no pod carries this deploy after 10 min') });
    expect(sim.market.livePods()).toHaveLength(1);
  });

  it('a refused key stops deploys and is reported once', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Unauthorized', op: 'podFindAndDeployOnDemand' });
    const d = daemonFor(sim, RULE());
    await d.watcher.tick();
    expect(d.auth.open).toBe(false);
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(d.logs.text().match(/RunPod refused the API key: no deploys or resumes until it is accepted/g)).toHaveLength(1);
    expect(d.logs.text()).not.toContain(TEST_KEY);
  });

  it('an invalid request blocks the rule, across restarts, until its config changes', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'graphqlError', message: 'Invalid image name', op: 'podFindAndDeployOnDemand' });
    const dbPath = join(await mkdtemp(join(tmpdir(), 'gw-rules-')), 'w.db');
    const d = daemonFor(sim, RULE(), { dbPath });
    await d.watcher.tick();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    expect(d.events().map((e) => [e.type, e.summary])).toEqual([
      ['pod.deploy_failed', `trainer could not deploy ${A6000} on-demand: RunPod refused the request: podFindAndDeployOnDemand: Invalid image name; the rule rests until its config changes`],
    ]);
    d.store.close();

    const restarted = daemonFor(sim, RULE(), { dbPath });
    await restarted.watcher.tick();
    expect(deployRequests()).toHaveLength(1);
    restarted.store.close();

    const edited = daemonFor(sim, RULE().replace('runpod/pytorch', 'runpod/pytorch:2.4'), { dbPath });
    await edited.watcher.tick();
    expect(deployRequests()).toHaveLength(2);
    edited.store.close();
  });
});

describe('--dry-run', () => {
  it('decides and records everything as would-be actions, sends no mutation, and does not repeat itself', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE(), { dryRun: true, dbPath: tempDbPath() });
    await d.watcher.tick();
    d.clock.advance(POLL);
    await d.watcher.tick();
    expect(deployRequests()).toHaveLength(0);
    expect(sim.market.livePods()).toHaveLength(0);
    expect(d.events().map((e) => [e.type, e.dryRun])).toEqual([['pod.deployed', true]]);
    expect(d.events()[0]?.summary).toContain('(dry run: nothing was sent)');
    expect(d.store.journal.recent(5).map((r) => [r.status, r.dryRun])).toEqual([['succeeded', true]]);
    expect(onDisk(d.store.path, (db) => db.prepare('SELECT count(*) AS n FROM rule_state').get())).toEqual({ n: 0 });
  });

  it('works without a key, on an empty pod list', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE(), { dryRun: true, apiKey: undefined });
    await d.watcher.tick();
    expect(sim.requestsFor('myself')).toHaveLength(0);
    expect(d.events().map((e) => e.type)).toEqual(['pod.deployed']);
  });
});
