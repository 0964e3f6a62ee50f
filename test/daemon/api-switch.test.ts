import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { buildStatus } from '../../src/status/build.js';
import { FALLBACK_AFTER_MS, GRAPHQL_RETRY_EVERY_MS, NOT_FOUND_POLLS } from '../../src/runpod/switching.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const POLL = 30_000;
const A6000 = 'NVIDIA RTX A6000';
const NOTIFIERS = 'notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" }, audit: { type: webhook, url: "http://127.0.0.1:9/audit" } }';
const RULE = (source: string, maxPods: number) => `
api: { source: ${source} }
${NOTIFIERS}
rules:
  - { name: trainer, cloud: SECURE, maxPods: ${maxPods}, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }
`;
const WATCH = `${NOTIFIERS}\nwatch: [{ gpu: ${A6000}, cloud: SECURE }]`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

async function tempDb(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'gw-switch-')), 'w.db');
}

const isRest = (r: { url: string }): boolean => r.url.startsWith('/v2');
/** Every create sent to the simulator, through either API. */
const creates = (s: RunpodSimulator) => s.requests.filter((r) => r.rootFields.includes('podFindAndDeployOnDemand') || r.rootFields.includes('createPod'));

describe('api.source auto: GraphQL retires mid-run', () => {
  it('switches market and pods to REST v2 in the same cycle, recognises the GraphQL pod by its env markers, deploys through v2 once, tells api.switched once, and starts on v2 after a restart', async () => {
    sim = await RunpodSimulator.start(testMarket({ steps: [{ note: 'sunset', retire: 'graphql' }] }));
    const dbPath = await tempDb();
    const d = daemonFor(sim, RULE('auto', 2), { dbPath, metrics: true });
    expect(d.api.source).toBe('graphql');
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    // maxPods 2, but one deploy per cycle: the first through GraphQL.
    expect(creates(sim).map((r) => r.rootFields[0])).toEqual(['podFindAndDeployOnDemand']);

    sim.advance();
    d.clock.advance(POLL);
    const before = sim.requests.length;
    // The poll that got 410 is asked of v2 at once: this cycle succeeds.
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(d.api.source).toBe('rest');
    const cycle = sim.requests.slice(before);
    expect(cycle.filter((r) => !isRest(r)).every((r) => r.status === 410)).toBe(true);
    expect(cycle.filter(isRest).map((r) => r.rootFields[0]).sort()).toEqual(['createPod', 'listGpuTypes', 'listPods']);
    expect(creates(sim).map((r) => r.rootFields[0])).toEqual(['podFindAndDeployOnDemand', 'createPod']);

    // Both pods count for the rule: the GraphQL one is known in the v2 list by its env markers.
    d.clock.advance(POLL);
    const quiet = sim.requests.length;
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requests.slice(quiet).every(isRest)).toBe(true);
    expect(creates(sim)).toHaveLength(2);
    expect(d.store.daemon.rulesLastCycle.get()?.livePods.filter((p) => p.watcher?.rule === 'trainer')).toHaveLength(2);

    const switched = d.events().filter((e) => e.type === 'api.switched');
    expect(switched).toHaveLength(1);
    expect(switched[0]?.summary).toContain('HTTP 410 Gone');
    expect(d.events().filter((e) => e.type === 'api.retired')).toEqual([]);
    expect(d.store.outbox.undelivered(100).filter((u) => u.type === 'api.switched').map((u) => u.notifier).sort()).toEqual(['audit', 'ops']);
    expect(buildStatus({ store: d.store, config: d.config, now: d.clock.now() }).api.source).toBe('rest');
    expect(await d.metrics?.registry.getSingleMetricAsString('gpuwatch_api_source')).toMatch(/gpuwatch_api_source\{source="graphql"\} 0\ngpuwatch_api_source\{source="rest"\} 1/);
    expect(sim.rest.violations).toEqual([]);
    expect(d.logs.text()).not.toContain(TEST_KEY);
    d.store.close();

    const again = daemonFor(sim, RULE('auto', 2), { dbPath, clock: d.clock });
    expect(again.api.source).toBe('rest');
    expect(again.api.spot.available).toBe(false);
    again.clock.advance(POLL);
    const restarted = sim.requests.length;
    expect((await again.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requests.slice(restarted).every(isRest)).toBe(true);
    expect(creates(sim)).toHaveLength(2);
    expect(again.events().filter((e) => e.type === 'api.switched')).toHaveLength(1);
    again.store.close();
  });

  it('a deploy that GraphQL answers 410 (never processed) is sent once through v2 in the same cycle', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE('auto', 1));
    sim.fault({ kind: 'status', status: 410, op: 'podFindAndDeployOnDemand' });
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(creates(sim).map((r) => [r.rootFields[0], r.status])).toEqual([
      ['podFindAndDeployOnDemand', 410],
      ['createPod', 201],
    ]);
    expect(d.api.source).toBe('rest');
    // v2 has no spot: the rules hear it once, as after any spot retirement.
    expect(d.events().map((e) => e.type)).toEqual(['spot.unavailable', 'api.switched', 'pod.deployed']);
  });

  it('counts 404 from the GraphQL endpoint as retired on the third poll in a row while v2 answers', async () => {
    sim = await RunpodSimulator.start(testMarket());
    expect(NOT_FOUND_POLLS).toBe(3);
    sim.fault({ kind: 'status', status: 404, op: 'gpuTypes', times: NOT_FOUND_POLLS });
    const d = daemonFor(sim, WATCH);
    for (let poll = 1; poll < NOT_FOUND_POLLS; poll++) {
      expect((await d.watcher.tick())?.outcome).toBe('failed');
      expect(d.api.source).toBe('graphql');
      d.clock.advance(POLL);
    }
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(d.api.source).toBe('rest');
    expect(d.events().filter((e) => e.type === 'api.switched').map((e) => e.details?.detail)).toEqual([expect.stringContaining('404 3 polls in a row')]);
  });

  it('while GraphQL merely fails, polls through v2 after 30 minutes, tries GraphQL again every 5 minutes, and goes back once it answers, without api.switched', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 400, op: 'gpuTypes', times: 1_000 });
    const d = daemonFor(sim, WATCH);
    expect((await d.watcher.tick())?.outcome).toBe('failed');
    d.clock.advance(FALLBACK_AFTER_MS - 1);
    expect((await d.watcher.tick())?.outcome).toBe('failed');
    expect(sim.requests.filter(isRest)).toEqual([]);
    d.clock.advance(1);
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(d.api.source).toBe('rest');

    // Within 5 minutes GraphQL is not asked; then it is, first.
    d.clock.advance(GRAPHQL_RETRY_EVERY_MS - 1);
    const within = sim.requests.length;
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requests.slice(within).every(isRest)).toBe(true);
    sim.clearFaults();
    d.clock.advance(1);
    const back = sim.requests.length;
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requests.slice(back).map((r) => r.rootFields[0])).toEqual(['gpuTypes']);
    expect(d.api.source).toBe('graphql');
    expect(d.events().filter((e) => e.type === 'api.switched')).toEqual([]);
  });
});

describe('api.source pinned', () => {
  it('rest from a fresh database: no GraphQL request at all, deploys through v2, spot unavailable, status says rest', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, RULE('rest', 1));
    expect(d.api.source).toBe('rest');
    expect(d.api.spot.available).toBe(false);
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requests.every(isRest)).toBe(true);
    expect(creates(sim).map((r) => r.rootFields[0])).toEqual(['createPod']);
    expect(d.events().map((e) => e.type)).toEqual(['pod.deployed']);
    expect(buildStatus({ store: d.store, config: d.config, now: d.clock.now() }).api.source).toBe('rest');
    expect(sim.rest.violations).toEqual([]);
  });

  it('graphql never asks v2, even after a 410', async () => {
    sim = await RunpodSimulator.start(testMarket({ steps: [{ retire: 'graphql' }] }));
    sim.advance();
    const d = daemonFor(sim, `api: { source: graphql }\n${WATCH}`);
    expect(await d.watcher.tick()).toMatchObject({ outcome: 'failed', errorKind: 'retired' });
    expect(sim.requests.filter(isRest)).toEqual([]);
    expect(d.api.source).toBe('graphql');
  });
});
