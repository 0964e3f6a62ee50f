import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunpodRestClient } from '../../../src/runpod/rest/client.js';
import type { Cloud, WatchKey } from '../../../src/runpod/types.js';
import { RunpodSimulator } from '../../../src/sim/server.js';
import { capturedLogger } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { testMarket } from '../../helpers/market.js';
import { restClientFor } from '../../helpers/rest.js';
import { waitUntil } from '../../helpers/wait.js';

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const H100 = 'NVIDIA H100 80GB HBM3';
const key = (gpuTypeId: string, cloud: Cloud, gpuCount = 1): WatchKey => ({ gpuTypeId, gpuCount, cloud });

let sim: RunpodSimulator;
let client: RunpodRestClient;
let clock: FakeClock;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  clock = new FakeClock();
  client = restClientFor(sim, { clock });
});
afterEach(async () => {
  await sim.close();
});

const catalogUrls = () => sim.requestsFor('listGpuTypes').map((r) => r.url);

describe('snapshot over REST v2', () => {
  it('reads each cloud: v2 availability as the stock levels, the cloud’s list price per GPU, no bid, no counts', async () => {
    const snapshot = await client.snapshot([key(A6000, 'SECURE'), key(A6000, 'COMMUNITY'), key(A5000, 'SECURE'), key(H100, 'SECURE')]);
    expect(snapshot.spotFields).toBe(false);
    expect(snapshot.dropped).toEqual([]);
    expect(snapshot.offers.map((o) => [o.key.cloud, o.displayName, o.stock, o.stockRaw, o.onDemandPrice, o.minBidPrice, o.availableGpuCounts])).toEqual([
      ['SECURE', 'RTX A6000', 'High', 'HIGH', 0.79, null, null],
      ['COMMUNITY', 'RTX A6000', 'Medium', 'MEDIUM', 0.49, null, null],
      ['SECURE', 'RTX A5000', 'Low', 'LOW', 0.36, null, null],
      // The scenario has no price for it: v2 lists 0, which is no price at all, never a free GPU.
      ['SECURE', 'H100 SXM', 'None', 'NONE', null, null, null],
    ]);
    expect(catalogUrls().sort()).toEqual([
      '/v2/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=COMMUNITY',
      '/v2/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=SECURE',
    ]);
  });

  it('keeps the per-data-center stock and the CUDA versions on the offer', async () => {
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'High' });
    const gpu = sim.market.gpus.get(A6000);
    if (gpu?.secure) {
      gpu.secure.dataCenters = [
        { id: 'US-TX-3', name: 'US Texas 3', stock: 'Low' },
        { id: 'EU-SE-1', stock: 'High' },
      ];
      gpu.secure.cudaVersions = [
        { version: '12.4', available: false },
        { version: '12.8', available: true },
      ];
    }
    const [offer] = (await client.snapshot([key(A6000, 'SECURE')])).offers;
    expect(offer?.dataCenters).toEqual([
      { id: 'US-TX-3', name: 'US Texas 3', stock: 'Low' },
      { id: 'EU-SE-1', name: 'EU-SE-1', stock: 'High' },
    ]);
    expect(offer?.cudaVersions).toEqual([
      { version: '12.4', available: false },
      { version: '12.8', available: true },
    ]);
  });

  it('asks for the GPU count: a count the offer cannot make is no stock', async () => {
    const snapshot = await client.snapshot([key(A6000, 'SECURE', 4), key(A6000, 'COMMUNITY', 4)]);
    expect(snapshot.offers.map((o) => [o.key.cloud, o.stock])).toEqual([
      ['SECURE', 'High'],
      ['COMMUNITY', 'None'],
    ]);
    expect(catalogUrls().every((url) => url.includes('count=4'))).toBe(true);
  });

  it('ALL merges both clouds as GraphQL does: the cheapest cloud with stock, with its own stock and price', async () => {
    const all = key(A6000, 'ALL');
    expect((await client.snapshot([all])).offers[0]).toMatchObject({ key: all, stock: 'Medium', onDemandPrice: 0.49, dataCenters: [{ id: 'EU-RO-1' }] });
    sim.market.set({ gpu: A6000, cloud: 'COMMUNITY', stock: 'None' });
    expect((await client.snapshot([all])).offers[0]).toMatchObject({ stock: 'High', onDemandPrice: 0.79, dataCenters: [{ id: 'US-KS-2' }] });
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    expect((await client.snapshot([all])).offers[0]).toMatchObject({ stock: 'None', onDemandPrice: 0.49 });
    // A GPU type offered on one cloud only is that cloud's offer.
    expect((await client.snapshot([key(A5000, 'ALL')])).offers[0]).toMatchObject({ stock: 'Low', onDemandPrice: 0.36 });
  });

  it('drops an unknown GPU and a malformed entry with their reasons (counted in the log), keeping the rest', async () => {
    const { logger, logs } = capturedLogger();
    client = restClientFor(sim, { clock, logger });
    sim.market.set({ gpu: 'Broken Price', cloud: 'SECURE', stock: 'High', price: -1 });
    const snapshot = await client.snapshot([key(A6000, 'SECURE'), key('Broken Price', 'SECURE'), key('No Such GPU', 'SECURE')]);
    expect(snapshot.offers.map((o) => o.key.gpuTypeId)).toEqual([A6000]);
    expect(snapshot.dropped.map((d) => [d.key.gpuTypeId, d.reason, d.detail])).toEqual([
      ['Broken Price', 'malformed', 'RunPod\'s catalog entry for "Broken Price" is malformed'],
      ['No Such GPU', 'unknown_gpu', 'RunPod has no GPU type "No Such GPU"'],
    ]);
    expect(logs.text()).toContain('"malformed":1');
  });

  it('a failed request drops only the keys of its own (gpuCount, cloud), with its error', async () => {
    sim.fault({ kind: 'rest', status: 400, detail: 'cloud COMMUNITY is down for maintenance', op: 'listGpuTypes' });
    const snapshot = await client.snapshot([key(A6000, 'COMMUNITY'), key(A6000, 'SECURE', 2)]);
    expect(snapshot.offers.map((o) => o.key.cloud)).toEqual(['SECURE']);
    expect(snapshot.dropped).toEqual([{ key: key(A6000, 'COMMUNITY'), reason: 'error', detail: 'snapshot: HTTP 400: cloud COMMUNITY is down for maintenance' }]);
  });

  it('ALL keeps the cloud that answered when the other one’s request failed', async () => {
    sim.fault({ kind: 'rest', status: 400, detail: 'no', op: 'listGpuTypes' });
    const snapshot = await client.snapshot([key(A6000, 'ALL')]);
    expect(snapshot.offers).toHaveLength(1);
    expect(snapshot.dropped).toEqual([]);
  });

  it('with no usable key the poll fails: the request’s own error, invalid_request for unknown GPUs only, or transient', async () => {
    sim.fault({ kind: 'rest', status: 410, detail: 'REST v2 is retired', op: 'listGpuTypes', times: 2 });
    await expect(client.snapshot([key(A6000, 'SECURE'), key(A6000, 'COMMUNITY')])).rejects.toMatchObject({ kind: 'retired', status: 410 });
    await expect(client.snapshot([key('Nope', 'SECURE'), key('Nope Either', 'SECURE')])).rejects.toMatchObject({
      kind: 'invalid_request',
      message: 'snapshot: every key failed: RunPod has no GPU type "Nope" | RunPod has no GPU type "Nope Either"',
    });
    sim.market.set({ gpu: 'Broken Price', cloud: 'SECURE', stock: 'High', price: -1 });
    await expect(client.snapshot([key('Broken Price', 'SECURE'), key('Nope', 'SECURE')])).rejects.toMatchObject({ kind: 'transient' });
  });

  it('no keys, no request', async () => {
    expect(await client.snapshot([])).toEqual({ offers: [], dropped: [], spotFields: false });
    expect(sim.requests).toHaveLength(0);
  });
});

describe('requests per market snapshot', () => {
  /** `keys` keys spread evenly over `pairs` (gpuCount, cloud) pairs: 1, 2 GPUs on SECURE, COMMUNITY. */
  const spread = (keys: number, pairs: number): WatchKey[] =>
    Array.from({ length: keys }, (_, i) => {
      const pair = i % pairs;
      sim.market.set({ gpu: `GPU ${i}`, cloud: 'SECURE', stock: 'High', price: 1 + i / 100 });
      sim.market.set({ gpu: `GPU ${i}`, cloud: 'COMMUNITY', stock: 'Low', price: 0.5 + i / 100 });
      return key(`GPU ${i}`, pair % 2 === 0 ? 'SECURE' : 'COMMUNITY', 1 + Math.floor(pair / 2));
    });

  // One key makes one pair, or two with ALL; four pairs need at least four keys (or two on ALL).
  it.each([
    [1, 1],
    [10, 1],
    [10, 2],
    [10, 4],
    [50, 1],
    [50, 2],
    [50, 4],
  ])('%i keys over %i (gpuCount, cloud) pairs: one request per pair, all in flight at once', async (keys, pairs) => {
    const watched = spread(keys, pairs);
    sim.fault({ kind: 'hold', at: 'before', op: 'listGpuTypes', times: pairs });
    const snapshot = client.snapshot(watched);
    await waitUntil(() => sim.holding === pairs, { what: `${pairs} catalog requests held at once` });
    sim.release();
    const { offers, dropped } = await snapshot;
    expect(sim.requests).toHaveLength(pairs);
    expect(offers).toHaveLength(keys);
    expect(dropped).toEqual([]);
  });

  it('1 key on ALL: two requests, one per cloud', async () => {
    await client.snapshot([key(A6000, 'ALL')]);
    expect(catalogUrls().map((url) => /cloud=(\w+)/.exec(url)?.[1]).sort()).toEqual(['COMMUNITY', 'SECURE']);
  });
});

describe('catalog over REST v2 (gpus --source rest)', () => {
  it('lists every GPU type at the count on the cloud, sorted, with its memory', async () => {
    const entries = await client.catalog({ gpuCount: 1, cloud: 'SECURE' });
    expect(entries.map((e) => [e.gpuTypeId, e.displayName, e.memoryInGb, e.stock, e.onDemandPrice, e.minBidPrice, e.availableGpuCounts])).toEqual([
      [H100, 'H100 SXM', 80, 'None', null, null, null],
      [A5000, 'RTX A5000', 24, 'Low', 0.36, null, null],
      [A6000, 'RTX A6000', 48, 'High', 0.79, null, null],
    ]);
    expect(sim.requests).toHaveLength(1);
  });

  it('ALL asks both clouds and merges them; a failure fails the catalog', async () => {
    const entries = await client.catalog({ gpuCount: 2, cloud: 'ALL' });
    expect(entries.find((e) => e.gpuTypeId === A6000)).toMatchObject({ stock: 'Medium', onDemandPrice: 0.49 });
    expect(sim.requests).toHaveLength(2);
    sim.fault({ kind: 'rest', status: 403, detail: 'key scope', op: 'listGpuTypes' });
    await expect(client.catalog({ gpuCount: 1, cloud: 'ALL' })).rejects.toMatchObject({ kind: 'auth', status: 403 });
  });
});
