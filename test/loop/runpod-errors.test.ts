import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SPOT_RECHECK_MS } from '../../src/runpod/spot.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { onDisk } from '../helpers/on-disk.js';

const A6000 = 'NVIDIA RTX A6000';
const POLL = 30_000;

const NOTIFIERS = 'notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" }, audit: { type: webhook, url: "http://127.0.0.1:9/audit" } }';
const WATCH = `${NOTIFIERS}\nwatch: [{ gpu: ${A6000}, cloud: SECURE }]`;
const RULE = (candidate: string) => `
${NOTIFIERS}
rules:
  - name: trainer
    cloud: SECURE
    candidates: [${candidate}]
    pod: { imageName: runpod/pytorch }
    notify: [ops]
`;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

async function tempDb(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'gw-errors-')), 'w.db');
}

describe('HTTP 410 Gone', () => {
  // Pinned to GraphQL: under `auto` the daemon would switch to REST v2 instead (test/daemon/api-switch.test.ts).
  const PINNED = `api: { source: graphql }\n${WATCH}`;

  it('fails the poll, is counted as retired, and tells api.retired once to every notifier, not again after a restart', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 410, times: 100 });
    const dbPath = await tempDb();
    const first = daemonFor(sim, PINNED, { dbPath });
    for (let poll = 0; poll < 2; poll++) {
      expect((await first.watcher.tick())?.outcome).toBe('failed');
      first.clock.advance(POLL);
    }
    expect(first.watcher.stats.apiErrors.retired).toBe(2);
    expect(sim.requests).toHaveLength(2);
    const retired = first.events().filter((e) => e.type === 'api.retired');
    expect(retired).toHaveLength(1);
    expect(retired[0]?.summary).toContain('HTTP 410 Gone');
    expect(onDisk(dbPath, (db) => db.prepare('SELECT notifier FROM deliveries WHERE event_id = ? ORDER BY notifier').all(retired[0]?.id))).toEqual([{ notifier: 'audit' }, { notifier: 'ops' }]);
    expect(first.logs.text().match(/the API the watcher uses is retired/g)).toHaveLength(1);
    first.store.close();

    const second = daemonFor(sim, PINNED, { dbPath, clock: first.clock });
    await second.watcher.tick();
    expect(second.watcher.stats.apiErrors.retired).toBe(1);
    expect(second.events().filter((e) => e.type === 'api.retired')).toHaveLength(1);
    second.store.close();
  });
});

describe('a long Retry-After, across cycles', () => {
  it('with Retry-After 120 s no request reaches RunPod for 120 s, polls and pod reads alike; then the rule deploys', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 429, retryAfter: 120, op: 'gpuTypes' });
    const d = daemonFor(sim, RULE(`{ gpu: ${A6000}, maxPrice: 0.80 }`));
    expect((await d.watcher.tick())?.outcome).toBe('failed');
    // The pod list rode in the poll that got the 429; nothing is sent after it.
    const limited = sim.requests.find((r) => r.status === 429);
    expect(sim.requests.map((r) => [...new Set(r.rootFields)].join(' '))).toEqual(['gpuTypes myself']);
    for (let poll = 1; poll <= 3; poll++) {
      d.clock.advance(POLL);
      const result = await d.watcher.tick();
      expect(result).toMatchObject({ outcome: 'failed', errorKind: 'rate_limited' });
    }
    d.clock.advance(POLL - 1);
    await d.watcher.tick();
    expect(sim.requests.filter((r) => r.receivedAt > (limited?.answeredAt ?? 0))).toEqual([]);
    expect(sim.requests).toHaveLength(1);
    expect(d.logs.text()).toContain('RunPod asked to wait until');

    d.clock.advance(1);
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
    expect(d.events().filter((e) => e.type.startsWith('pod.')).map((e) => e.type)).toEqual(['pod.deployed']);
  });
});

describe('spot retirement, one source of truth', () => {
  it('is kept across restarts, re-checked a day later, and once spot works again the rules use it', async () => {
    sim = await RunpodSimulator.start(testMarket({ spotRetired: 'errors' }));
    const dbPath = await tempDb();
    const clock = new FakeClock();
    const rule = RULE(`{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }`);
    const askedForSpot = (): boolean[] => sim.requestsFor('gpuTypes').map((r) => r.body.includes('minimumBidPrice'));

    const first = daemonFor(sim, rule, { dbPath, clock });
    await first.watcher.tick();
    expect(askedForSpot()).toEqual([true, false]);
    expect(sim.market.livePods().map((p) => p.podType)).toEqual(['RESERVED']);
    expect(first.events().map((e) => e.type)).toEqual(['spot.unavailable', 'pod.deployed']);
    first.store.close();

    sim.retireSpot(false);
    for (const pod of sim.market.livePods()) pod.desiredStatus = 'TERMINATED';
    clock.advance(POLL);
    const second = daemonFor(sim, rule, { dbPath, clock });
    expect(second.engine.spotAvailable).toBe(false);
    await second.watcher.tick();
    expect(askedForSpot()).toEqual([true, false, false]);
    expect(sim.requestsFor('podRentInterruptable')).toHaveLength(0);

    for (const pod of sim.market.livePods()) pod.desiredStatus = 'TERMINATED';
    clock.advance(SPOT_RECHECK_MS);
    await second.watcher.tick();
    expect(askedForSpot()).toEqual([true, false, false, true]);
    expect(second.engine.spotAvailable).toBe(true);
    expect(sim.requestsFor('podRentInterruptable')).toHaveLength(1);
    expect(sim.market.livePods().map((p) => p.podType)).toEqual(['INTERRUPTABLE']);
    expect(second.store.daemon.spotRetired.get()).toBeNull();
    expect(second.events().filter((e) => e.type === 'spot.unavailable')).toHaveLength(1);
    second.store.close();
  });
});
