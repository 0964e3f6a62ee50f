import { parse, validate } from 'graphql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodGraphqlClient } from '../../src/runpod/graphql/client.js';
import { SPOT_RECHECK_MS, type SpotRetirement } from '../../src/runpod/spot.js';
import type { WatchKey } from '../../src/runpod/types.js';
import { SPOT_RETIREMENTS } from '../../src/sim/scenario.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { loadRunpodSchema } from '../../src/sim/schema.js';
import { VERSION } from '../../src/lib/version.js';
import { capturedLogger } from '../helpers/capture.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const A6000: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
const spec = { name: 'trainer', imageName: 'runpod/pytorch', env: { GPU_WATCHER_RULE: 'trainer', GPU_WATCHER_DEPLOY: 'dep_1', HF_TOKEN: 'hf_secret_value' } };

let sim: RunpodSimulator;
let client: RunpodGraphqlClient;
let logs: ReturnType<typeof capturedLogger>['logs'];

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  const captured = capturedLogger();
  logs = captured.logs;
  client = new RunpodGraphqlClient({ url: sim.url, apiKey: TEST_KEY, timeoutMs: 2_000, clock: new FakeClock(), logger: captured.logger });
});

afterEach(async () => {
  await sim.close();
});

describe('snapshot', () => {
  it('fetches 50 keys in one HTTP request, each parsed into an offer', async () => {
    const keys: WatchKey[] = [];
    for (let i = 0; i < 50; i++) {
      sim.market.set({ gpu: `GPU ${i}`, cloud: 'SECURE', stock: i % 2 ? 'High' : 'Low', price: 1 + i / 100, minBid: 0.5, counts: [1, 2] });
      keys.push({ gpuTypeId: `GPU ${i}`, gpuCount: 1 + (i % 2), cloud: 'SECURE' });
    }
    const snapshot = await client.snapshot(keys);
    expect(sim.requests).toHaveLength(1);
    expect(snapshot.dropped).toEqual([]);
    expect(snapshot.offers).toHaveLength(50);
    expect(snapshot.offers[7]).toEqual({
      key: keys[7],
      displayName: 'GPU 7',
      stock: 'High',
      stockRaw: 'High',
      onDemandPrice: 1.07,
      minBidPrice: 0.5,
      availableGpuCounts: [1, 2],
    });
  });

  it('reads each cloud and normalises RunPod stock words', async () => {
    sim.market.set({ gpu: 'NVIDIA RTX A5000', cloud: 'SECURE', stock: 'none' });
    const snapshot = await client.snapshot([
      A6000,
      { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'COMMUNITY' },
      { gpuTypeId: 'NVIDIA RTX A5000', gpuCount: 1, cloud: 'SECURE' },
      { gpuTypeId: 'NVIDIA H100 80GB HBM3', gpuCount: 1, cloud: 'ALL' },
    ]);
    expect(snapshot.offers.map((o) => [o.key.cloud, o.stock, o.stockRaw, o.onDemandPrice])).toEqual([
      ['SECURE', 'High', 'High', 0.79],
      ['COMMUNITY', 'Medium', 'Medium', 0.49],
      ['SECURE', 'None', 'none', 0.36],
      ['ALL', 'None', null, null],
    ]);
  });

  it('drops and counts an unknown GPU, a malformed entry and an entry RunPod failed on, keeping the rest', async () => {
    sim.market.set({ gpu: 'Broken Price', cloud: 'SECURE', stock: 'High', price: -1 });
    sim.market.set({ gpu: 'Zero Count', cloud: 'SECURE', stock: 'High', price: 1, counts: [0] });
    sim.market.set({ gpu: 'NaN Price', cloud: 'SECURE', stock: 'High', price: Number.NaN });
    const keys: WatchKey[] = ['Broken Price', 'Zero Count', 'No Such GPU', 'NaN Price'].map((gpuTypeId) => ({ gpuTypeId, gpuCount: 1, cloud: 'SECURE' }));
    const snapshot = await client.snapshot([A6000, ...keys]);
    expect(snapshot.offers.map((o) => o.key.gpuTypeId)).toEqual(['NVIDIA RTX A6000']);
    expect(snapshot.dropped.map((d) => [d.key.gpuTypeId, d.reason])).toEqual([
      ['Broken Price', 'malformed'],
      ['Zero Count', 'malformed'],
      ['No Such GPU', 'unknown_gpu'],
      ['NaN Price', 'error'],
    ]);
    expect(snapshot.dropped[0]?.detail).toContain('uninterruptablePrice');
  });

  it('goes on without spot prices once RunPod has retired the field, and says so', async () => {
    await sim.close();
    sim = await RunpodSimulator.start(testMarket({ spotRetired: true }));
    const captured = capturedLogger();
    client = new RunpodGraphqlClient({ url: sim.url, apiKey: TEST_KEY, timeoutMs: 2_000, logger: captured.logger });

    const first = await client.snapshot([A6000]);
    expect(first).toMatchObject({ spotFields: false, offers: [{ stock: 'High', onDemandPrice: 0.79, minBidPrice: null }] });
    expect(sim.requests.map((r) => r.status)).toEqual([400, 200]);
    expect(captured.logs.text()).toContain('RunPod no longer serves spot');

    await client.snapshot([A6000]);
    expect(sim.requests.map((r) => r.status)).toEqual([400, 200, 200]);
  });
});

describe('spot retirement', () => {
  let clock: FakeClock;
  let saved: (SpotRetirement | null)[];
  const spotClient = (load?: SpotRetirement): RunpodGraphqlClient =>
    new RunpodGraphqlClient({ url: sim.url, apiKey: TEST_KEY, timeoutMs: 2_000, clock, spotPersistence: { load: () => load, save: (r) => void saved.push(r) } });
  /** For each request so far: did it ask for the spot field? */
  const askedForSpot = (): boolean[] => sim.requests.map((r) => r.body.includes('minimumBidPrice'));

  beforeEach(() => {
    clock = new FakeClock();
    saved = [];
  });

  it.each(SPOT_RETIREMENTS)('is learnt from the "%s" shape, once the same query without the field goes through', async (shape) => {
    sim.retireSpot(shape);
    const spot = spotClient();
    const snapshot = await spot.snapshot([A6000]);
    expect(snapshot).toMatchObject({ spotFields: false, offers: [{ stock: 'High', onDemandPrice: 0.79, minBidPrice: null }] });
    expect(spot.spot.available).toBe(false);
    expect(saved).toEqual([{ at: clock.now(), checkedAt: clock.now(), detail: expect.stringContaining('minimumBidPrice') }]);
    expect(askedForSpot()).toEqual([true, false]);
    await spot.snapshot([A6000]);
    await spot.catalog({ gpuCount: 1, cloud: 'ALL' });
    expect(askedForSpot()).toEqual([true, false, false, false]);
  });

  it('a 400 that names no spot field never retires spot', async () => {
    sim.fault({ kind: 'status', status: 400, message: 'Bad Request' });
    const spot = spotClient();
    await expect(spot.snapshot([A6000])).rejects.toMatchObject({ kind: 'invalid_request', status: 400 });
    expect(spot.spot.available).toBe(true);
    expect((await spot.snapshot([A6000])).offers[0]?.minBidPrice).toBe(0.41);
    expect(askedForSpot()).toEqual([true, true]);
    expect(saved).toEqual([]);
  });

  it('an error naming the spot field does not retire spot when the query without it fails too', async () => {
    sim.fault({ kind: 'status', status: 400, message: 'Cannot query field "minimumBidPrice" on type "LowestPrice".' });
    sim.fault({ kind: 'status', status: 400, message: 'Bad Request' });
    const spot = spotClient();
    await expect(spot.snapshot([A6000])).rejects.toMatchObject({ status: 400, message: 'snapshot: Bad Request' });
    expect(spot.spot.available).toBe(true);
    expect(askedForSpot()).toEqual([true, false]);
    expect((await spot.snapshot([A6000])).offers[0]?.minBidPrice).toBe(0.41);
    expect(saved).toEqual([]);
  });

  it('a retirement kept from before is believed without asking, until its daily re-check', async () => {
    const spot = spotClient({ detail: 'gone', at: clock.now() - SPOT_RECHECK_MS + 60_000 });
    expect((await spot.snapshot([A6000])).offers[0]?.minBidPrice).toBeNull();
    clock.advance(60_000);
    expect((await spot.snapshot([A6000])).offers[0]?.minBidPrice).toBe(0.41);
    expect(askedForSpot()).toEqual([false, true]);
    expect(spot.spot.available).toBe(true);
    expect(saved).toEqual([null]);
  });

  it('re-checks once a day on the injected clock: still retired waits another day; working again restores spot', async () => {
    expect(SPOT_RECHECK_MS).toBe(86_400_000);
    sim.retireSpot('field');
    const spot = spotClient();
    await spot.snapshot([A6000]);
    const retiredAt = clock.now();
    clock.advance(SPOT_RECHECK_MS - 1);
    await spot.snapshot([A6000]);
    expect(askedForSpot()).toEqual([true, false, false]);

    clock.advance(1);
    await spot.snapshot([A6000]);
    expect(askedForSpot()).toEqual([true, false, false, true, false]);
    expect(saved.at(-1)).toMatchObject({ at: retiredAt, checkedAt: retiredAt + SPOT_RECHECK_MS });
    expect(spot.spot.available).toBe(false);

    sim.retireSpot(false);
    clock.advance(SPOT_RECHECK_MS - 1);
    await spot.snapshot([A6000]);
    expect(askedForSpot().slice(5)).toEqual([false]);
    clock.advance(1);
    const back = await spot.snapshot([A6000]);
    expect(askedForSpot().slice(6)).toEqual([true]);
    expect(back).toMatchObject({ spotFields: true, offers: [{ minBidPrice: 0.41 }] });
    expect(spot.spot.available).toBe(true);
    expect(saved.at(-1)).toBeNull();
  });
});

describe('catalog, pods and mutations', () => {
  it('lists every GPU type with its lowest price, sorted', async () => {
    const entries = await client.catalog({ gpuCount: 1, cloud: 'SECURE' });
    expect(entries.map((e) => [e.gpuTypeId, e.stock, e.onDemandPrice, e.memoryInGb])).toEqual([
      ['NVIDIA H100 80GB HBM3', 'None', null, 80],
      ['NVIDIA RTX A5000', 'Low', 0.36, 24],
      ['NVIDIA RTX A6000', 'High', 0.79, 48],
    ]);
  });

  it('deploys on-demand under deployCost, and the pod list shows the watcher markers but no other env', async () => {
    const pod = await client.deployOnDemand({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', deployCost: 0.8 });
    expect(pod).toMatchObject({ name: 'trainer', desiredStatus: 'RUNNING', costPerHr: 0.79, kind: 'on-demand', watcher: { rule: 'trainer', deployId: 'dep_1' } });
    const sent = JSON.parse(sim.requestsFor('podFindAndDeployOnDemand')[0]?.body ?? '{}');
    expect(sent.variables.input).toMatchObject({ gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloudType: 'SECURE', deployCost: 0.8, imageName: 'runpod/pytorch' });
    expect(sent.variables.input.env).toContainEqual({ key: 'GPU_WATCHER_DEPLOY', value: 'dep_1' });

    const pods = await client.listPods();
    expect(pods).toHaveLength(1);
    expect(JSON.stringify(pods)).not.toContain('hf_secret_value');
    expect(await client.getPod(pod.id)).toEqual(pods[0]);
    expect(await client.getPod('nope')).toBeNull();
  });

  it('deploys spot with bidPerGpu', async () => {
    const pod = await client.deploySpot({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 2, cloud: 'SECURE', bidPerGpu: 0.45 });
    expect(pod).toMatchObject({ kind: 'spot', gpuCount: 2, costPerHr: 0.9 });
    expect(JSON.parse(sim.requestsFor('podRentInterruptable')[0]?.body ?? '{}').variables.input.bidPerGpu).toBe(0.45);
  });

  it('stops, resumes, and bid-resumes pods', async () => {
    const onDemand = await client.deployOnDemand({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', deployCost: 1 });
    expect((await client.stopPod(onDemand.id)).desiredStatus).toBe('EXITED');
    expect(await client.resumePod({ podId: onDemand.id, gpuCount: 1 })).toMatchObject({ desiredStatus: 'RUNNING', costPerHr: 0.79 });

    const spot = await client.deploySpot({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', bidPerGpu: 0.5 });
    await client.stopPod(spot.id);
    expect(await client.bidResumePod({ podId: spot.id, gpuCount: 1, bidPerGpu: 0.6 })).toMatchObject({ desiredStatus: 'RUNNING', costPerHr: 0.6 });
  });
});

describe('on the wire', () => {
  it('sends every query valid against the schema file, with Bearer auth and a User-Agent, and no key in any URL or log', async () => {
    await client.snapshot([A6000]);
    await client.catalog({ gpuCount: 2, cloud: 'ALL' });
    const pod = await client.deployOnDemand({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', deployCost: 1 });
    await client.deploySpot({ spec, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', bidPerGpu: 0.5 });
    await client.stopPod(pod.id);
    await client.resumePod({ podId: pod.id, gpuCount: 1 });
    await client.getPod(pod.id);
    await client.listPods();
    sim.fault({ kind: 'status', status: 502 });
    await client.listPods();

    const schema = loadRunpodSchema();
    const fields = new Set(sim.requests.flatMap((r) => r.rootFields));
    expect(fields).toEqual(new Set(['gpuTypes', 'podFindAndDeployOnDemand', 'podRentInterruptable', 'podStop', 'podResume', 'pod', 'myself']));
    for (const request of sim.requests) {
      expect(validate(schema, parse(JSON.parse(request.body).query))).toEqual([]);
      expect(request.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
      expect(request.headers['user-agent']).toBe(`gpu-watcher/${VERSION}`);
      expect(request.url).toBe('/graphql');
    }
    expect(logs.text()).toContain('retrying');
    expect(logs.text()).not.toContain(TEST_KEY);
    expect(logs.text()).not.toContain('hf_secret_value');
  });

  it('reads the catalog without a key and sends no Authorization header', async () => {
    const anonymous = new RunpodGraphqlClient({ url: sim.url, timeoutMs: 2_000 });
    expect((await anonymous.catalog({ gpuCount: 1, cloud: 'ALL' })).length).toBe(3);
    expect(sim.requests[0]?.headers.authorization).toBeUndefined();
  });
});
