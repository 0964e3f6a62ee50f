import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatcherEvent } from '../../src/events/event.js';
import { DEPLOYED_EVENT } from '../helpers/sample-event.js';
import type { Snapshot, WatchKey } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { openStore } from '../../src/store/store.js';
import { testMarket } from '../helpers/market.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { waitUntil } from '../helpers/wait.js';
import { watcherFor } from '../helpers/watcher.js';

const A6000: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
const A5000: WatchKey = { gpuTypeId: 'NVIDIA RTX A5000', gpuCount: 1, cloud: 'SECURE' };
const POLL = 30_000;

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

describe('the watch loop', () => {
  it('turns a scripted market timeline into exactly the expected intervals, one request per cycle', async () => {
    sim = await RunpodSimulator.start(
      testMarket({
        steps: [
          { set: [] },
          { set: [{ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'None', counts: [] }] },
          { set: [] },
          { set: [{ gpu: 'NVIDIA RTX A5000', cloud: 'SECURE', price: 0.34 }] },
          { set: [{ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'High', counts: [1, 2, 4] }] },
        ],
      }),
    );
    const { watcher, store, clock } = watcherFor(sim, [A6000, A5000]);
    const t0 = clock.now();
    const results = [];
    for (let poll = 0; poll < 6; poll++) {
      if (poll > 0) sim.advance();
      results.push(await watcher.tick());
      clock.advance(POLL);
    }
    expect(sim.requests).toHaveLength(6);
    expect(results.map((r) => [r?.outcome, r?.changes.length])).toEqual([
      ['ok', 2],
      ['ok', 0],
      ['ok', 1],
      ['ok', 0],
      ['ok', 1],
      ['ok', 1],
    ]);
    const at = (poll: number) => t0 + poll * POLL;
    expect(store.history.intervals({ since: 0 }).map((i) => [i.key.gpuTypeId, i.firstSeen, i.lastSeen, i.polls, i.stock, i.onDemandPrice])).toEqual([
      ['NVIDIA RTX A5000', at(0), at(3), 4, 'Low', 0.36],
      ['NVIDIA RTX A5000', at(4), at(5), 2, 'Low', 0.34],
      ['NVIDIA RTX A6000', at(0), at(1), 2, 'High', 0.79],
      ['NVIDIA RTX A6000', at(2), at(4), 3, 'None', 0.79],
      ['NVIDIA RTX A6000', at(5), at(5), 1, 'High', 0.79],
    ]);
    expect(watcher.stats.polls).toEqual({ ok: 6, partial: 0, failed: 0 });
  });

  it('keeps going through 500s, 429s, timeouts and malformed answers, leaving gaps and counters', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, store, clock } = watcherFor(sim, [A6000], { timeoutMs: 100 });
    const faults = [
      undefined,
      { kind: 'status', status: 500, times: 3 },
      { kind: 'status', status: 429, retryAfter: 600 },
      { kind: 'delay', ms: 250, times: 3 },
      { kind: 'malformed', times: 3 },
      undefined,
      undefined,
    ] as const;
    const outcomes = [];
    for (const fault of faults) {
      if (fault) sim.fault(fault);
      outcomes.push((await watcher.tick())?.outcome);
      // A Retry-After holds every request until it has passed: the next poll comes after it.
      clock.advance(fault?.kind === 'status' && fault.status === 429 ? fault.retryAfter * 1000 : POLL);
    }
    expect(outcomes).toEqual(['ok', 'failed', 'failed', 'failed', 'failed', 'ok', 'ok']);
    expect(watcher.stats.apiErrors).toMatchObject({ transient: 3, rate_limited: 1 });
    expect(store.history.pollRuns(0).map((r) => [r.outcome, r.polls])).toEqual([
      ['ok', 1],
      ['failed', 1],
      ['failed', 1],
      ['failed', 2],
      ['ok', 2],
    ]);
    expect(store.history.pollRuns(0).map((r) => r.errorKind)).toEqual([null, 'transient', 'rate_limited', 'transient', null]);
    const intervals = store.history.intervals({ since: 0 });
    expect(intervals.map((i) => i.polls)).toEqual([1, 2]);
    expect((intervals[1]?.firstSeen ?? 0) - (intervals[0]?.lastSeen ?? 0)).toBeGreaterThanOrEqual(5 * POLL);
  });

  it('records api.down after 3 failed polls in a row, once, and api.up on recovery, to every notifier', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, store, clock } = watcherFor(sim, [A6000], { store: openStore(tempDbPath()) });
    sim.fault({ kind: 'status', status: 502, times: 5 * 3 });
    const afterEachPoll: string[][] = [];
    for (let poll = 0; poll < 5; poll++) {
      await watcher.tick();
      afterEachPoll.push(store.outbox.recent(10).map((e) => e.type));
      clock.advance(POLL);
    }
    expect(afterEachPoll).toEqual([[], [], ['api.down'], ['api.down'], ['api.down']]);
    await watcher.tick();
    const events = store.outbox.recent(10);
    expect(events.map((e) => e.type)).toEqual(['api.up', 'api.down']);
    expect(events[1]?.summary).toBe('RunPod API down: 3 polls in a row failed (transient: snapshot: HTTP 502)');
    expect(events[0]?.summary).toBe('RunPod API back after 1m 33s (5 failed polls)');
    const deliveries = onDisk(store.path, (db) => db.prepare('SELECT notifier, status FROM deliveries ORDER BY notifier').all());
    expect(deliveries).toEqual([
      { notifier: 'audit', status: 'pending' },
      { notifier: 'audit', status: 'pending' },
      { notifier: 'ops', status: 'pending' },
      { notifier: 'ops', status: 'pending' },
    ]);
  });

  it('remembers across a restart that RunPod was down, so it does not announce it twice', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const path = join(await mkdtemp(join(tmpdir(), 'gw-health-')), 'w.db');
    const first = watcherFor(sim, [A6000], { store: openStore(path) });
    sim.fault({ kind: 'status', status: 502, times: 6 * 3 });
    for (let poll = 0; poll < 3; poll++) await first.watcher.tick();
    expect(first.store.outbox.recent(10).map((e) => e.type)).toEqual(['api.down']);
    await first.watcher.stop();
    first.store.close();

    const second = watcherFor(sim, [A6000], { store: openStore(path) });
    for (let poll = 0; poll < 3; poll++) await second.watcher.tick();
    await second.watcher.tick();
    expect(second.store.outbox.recent(10).map((e) => e.type)).toEqual(['api.up', 'api.down']);
    second.store.close();
  });

  it('reports a refused key once, clearly, and stops mutations', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, logs, auth } = watcherFor(sim, [A6000], { apiKey: 'rpa_wrong_key' });
    expect(auth.open).toBe(true);
    for (let poll = 0; poll < 4; poll++) expect((await watcher.tick())?.errorKind).toBe('auth');
    expect(auth.open).toBe(false);
    const refusals = logs.text().split('\n').filter((l) => l.includes('RunPod refused the API key'));
    expect(refusals).toHaveLength(1);
    expect(logs.text()).not.toContain('rpa_wrong_key');
  });

  it('marks a poll partial when a key is dropped, and counts why', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher } = watcherFor(sim, [A6000, { gpuTypeId: 'NVIDIA RTX A9999', gpuCount: 1, cloud: 'ALL' }]);
    expect(await watcher.tick()).toMatchObject({ outcome: 'partial', offers: 1, dropped: 1 });
    expect(watcher.stats.dropped.unknown_gpu).toBe(1);
  });

  it('warns of a dropped key once per stretch, with its id and why, not at every poll', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, logs, clock } = watcherFor(sim, [A6000, { gpuTypeId: 'NVIDIA RTX A9999', gpuCount: 1, cloud: 'ALL' }]);
    for (let poll = 0; poll < 3; poll++) {
      await watcher.tick();
      clock.advance(POLL);
    }
    const warnings = logs
      .text()
      .split('\n')
      .filter((l) => l.includes('dropped from the poll'))
      .map((l) => JSON.parse(l) as { level: number; key: string; reason: string; msg: string });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, key: 'NVIDIA RTX A9999|1|ALL', reason: 'unknown_gpu' });
    expect(warnings[0]?.msg).toMatch(/^NVIDIA RTX A9999 x1 ALL dropped from the poll \(unknown_gpu: .+\); told once until it is back$/);
    expect(watcher.stats.dropped.unknown_gpu).toBe(3);
  });

  it('never overlaps cycles: a tick that finds one running is skipped and counted', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'delay', ms: 200 });
    const { watcher } = watcherFor(sim, [A6000]);
    const first = watcher.tick();
    expect(await watcher.tick()).toBeUndefined();
    expect(await watcher.tick()).toBeUndefined();
    expect((await first)?.outcome).toBe('ok');
    expect(watcher.stats.skippedTicks).toBe(2);
    expect(sim.requests).toHaveLength(1);
  });

  it('stop() aborts the cycle in flight and writes nothing half-done', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'delay', ms: 5_000 });
    const { watcher, store } = watcherFor(sim, [A6000], { timeoutMs: 10_000 });
    const inFlight = watcher.tick();
    await waitUntil(() => sim.requests.length === 1, { what: 'the poll reaching the simulator' });
    const stopping = Date.now();
    await watcher.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(await inFlight).toBeUndefined();
    expect(store.history.pollRuns(0)).toEqual([]);
    expect(await watcher.tick()).toBeUndefined();
  });

  it('hands each recorded snapshot to the next stage, and survives that stage throwing', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const seen: Snapshot[] = [];
    const { watcher, logs } = watcherFor(sim, [A6000], {
      onSnapshot: async (snapshot) => {
        seen.push(snapshot);
        if (seen.length === 1) throw new Error('rules blew up');
      },
    });
    expect(await watcher.tick()).toBeUndefined();
    expect((await watcher.tick())?.outcome).toBe('ok');
    expect(seen.map((s) => s.offers[0]?.stock)).toEqual(['High', 'High']);
    expect(watcher.stats.cycleErrors).toBe(1);
    expect(logs.text()).toContain('cycle failed; the loop goes on');
  });

  it('prunes history past the retention window', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, store, clock } = watcherFor(sim, [A6000]);
    await watcher.tick();
    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'Low' });
    clock.advance(91 * 86_400_000);
    await watcher.tick();
    await watcher.prune();
    expect(store.history.intervals({ since: 0 }).map((i) => i.stock)).toEqual(['Low']);
  });

  it('prunes settled events and their deliveries with the history, and keeps an old event still pending for a notifier', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { watcher, store, clock } = watcherFor(sim, [A6000]);
    const event = (id: string, at: number): WatcherEvent => ({ ...DEPLOYED_EVENT, id, time: new Date(at).toISOString() });
    const old = clock.now();
    store.outbox.append(event('delivered', old), ['ops']);
    store.outbox.delivered('delivered', 'ops', 200);
    store.outbox.append(event('given-up', old), ['ops']);
    store.outbox.failed('given-up', 'ops', 404, 'not found', undefined);
    store.outbox.append(event('nobody', old), []);
    store.outbox.append(event('pending', old), ['ops', 'pager']);
    store.outbox.delivered('pending', 'ops', 200);
    clock.advance(91 * 86_400_000);
    store.outbox.append(event('recent', clock.now()), ['ops']);
    store.outbox.delivered('recent', 'ops', 200);
    await watcher.prune();
    expect(store.outbox.recent(10).map((e) => e.id).sort()).toEqual(['pending', 'recent']);
    // The given-up delivery went with its event; the pending one stays, due as before.
    expect(store.outbox.depth()).toEqual({ pending: 1, failed: 0 });
    expect(store.outbox.due('pager', clock.now(), 10).map((d) => d.event.id)).toEqual(['pending']);
  });
});
