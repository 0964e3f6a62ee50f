import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodGraphqlClient } from '../../src/runpod/graphql/client.js';
import { RunpodError, type RunpodErrorKind } from '../../src/runpod/errors.js';
import { classifyGraphqlErrors, spotFieldRefused } from '../../src/runpod/graphql/errors.js';
import { REDACTED } from '../../src/lib/sanitise.js';
import type { OnDemandDeploy, WatchKey } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { REFUSALS } from '../../src/sim/market.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { waitUntil } from '../helpers/wait.js';
import { runpodError } from '../helpers/runpod-error.js';

const A6000: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
const deploy: OnDemandDeploy = { spec: { imageName: 'runpod/pytorch' }, gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', deployCost: 1 };

let sim: RunpodSimulator;
let clock: FakeClock;
let seen: RunpodError[];

function clientFor(url: string, options: { apiKey?: string; timeoutMs?: number; fetch?: typeof fetch } = {}): RunpodGraphqlClient {
  return new RunpodGraphqlClient({
    url,
    apiKey: 'apiKey' in options ? options.apiKey : TEST_KEY,
    timeoutMs: options.timeoutMs ?? 2_000,
    clock,
    onError: (e) => seen.push(e),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  clock = new FakeClock();
  seen = [];
});

afterEach(async () => {
  await sim.close();
});

describe('classification of real RunPod failures', () => {
  it('a wrong key is HTTP 401: auth, not retried', async () => {
    const error = await runpodError(clientFor(sim.url, { apiKey: 'rpa_wrong' }).snapshot([A6000]));
    expect(error).toMatchObject({ kind: 'auth', status: 401 });
    expect(sim.requests).toHaveLength(1);
  });

  it('no key on a protected query is auth: RunPod answers myself null at HTTP 200, and it is not retried', async () => {
    expect(await runpodError(clientFor(sim.url, { apiKey: undefined }).listPods())).toMatchObject({ kind: 'auth', status: 200, message: 'listPods: no API key: RunPod shows no account without one' });
    expect(sim.requests.map((r) => r.status)).toEqual([200]);
  });

  it('"Unauthorized" inside a 200 answer is auth', async () => {
    sim.fault({ kind: 'graphqlError', message: 'Unauthorized', op: 'myself' });
    expect(await runpodError(clientFor(sim.url).listPods())).toMatchObject({ kind: 'auth', status: 200 });
  });

  it('429 is rate_limited; a read waits out Retry-After and then succeeds', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 7 });
    const snapshot = await clientFor(sim.url).snapshot([A6000]);
    expect(snapshot.offers).toHaveLength(1);
    expect(seen.map((e) => [e.kind, e.retryAfterMs])).toEqual([['rate_limited', 7_000]]);
    expect(clock.sleeps).toEqual([7_000]);
  });

  it('a Retry-After too long to wait inside one call fails the call for the next cycle', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 3_600 });
    expect(await runpodError(clientFor(sim.url).snapshot([A6000]))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3_600_000 });
    expect(sim.requests).toHaveLength(1);
  });

  it.each([500, 502, 503])('HTTP %i is transient; reads retry with growing back-off', async (status) => {
    sim.fault({ kind: 'status', status, times: 2 });
    const snapshot = await clientFor(sim.url).snapshot([A6000]);
    expect(snapshot.offers).toHaveLength(1);
    expect(sim.requests.map((r) => r.status)).toEqual([status, status, 200]);
    expect(clock.sleeps).toEqual([500, 1_000]);
  });

  it('a read that keeps failing gives up after its retries', async () => {
    sim.fault({ kind: 'status', status: 500, times: 10 });
    expect(await runpodError(clientFor(sim.url).snapshot([A6000]))).toMatchObject({ kind: 'transient', status: 500 });
    expect(sim.requests).toHaveLength(3);
  });

  it('a malformed JSON answer is transient and retried', async () => {
    sim.fault({ kind: 'malformed' });
    expect((await clientFor(sim.url).snapshot([A6000])).offers).toHaveLength(1);
    expect(seen.map((e) => e.kind)).toEqual(['transient']);
    expect(seen[0]?.message).toContain('malformed answer');
  });

  it('a connection reset is transient', async () => {
    sim.fault({ kind: 'reset' });
    expect((await clientFor(sim.url).snapshot([A6000])).offers).toHaveLength(1);
    expect(seen.map((e) => [e.kind, e.mayHaveReachedRunpod])).toEqual([['transient', true]]);
  });

  it('a slow answer times out as transient', async () => {
    sim.fault({ kind: 'delay', ms: 400, times: 3 });
    expect(await runpodError(clientFor(sim.url, { timeoutMs: 100 }).snapshot([A6000]))).toMatchObject({ kind: 'transient', message: 'snapshot: no answer within 100 ms' });
  });

  it('the capacity refusal (SUPPLY_CONSTRAINT) and a null pod are capacity', async () => {
    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'None' });
    const refused = await runpodError(clientFor(sim.url).deployOnDemand(deploy));
    expect(refused).toMatchObject({ kind: 'capacity', code: 'SUPPLY_CONSTRAINT' });
    expect(refused.message).toContain('There are no longer any instances available');

    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'High' });
    sim.fault({ kind: 'nulls', op: 'podFindAndDeployOnDemand' });
    expect(await runpodError(clientFor(sim.url).deployOnDemand(deploy))).toMatchObject({ kind: 'capacity', message: 'podFindAndDeployOnDemand: RunPod returned no pod' });
  });

  it('a resume onto a full host is capacity; resuming a spot pod on-demand is invalid_request', async () => {
    const client = clientFor(sim.url);
    const onDemand = await client.deployOnDemand(deploy);
    await client.stopPod(onDemand.id);
    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'None' });
    expect(await runpodError(client.resumePod({ podId: onDemand.id, gpuCount: 1 }))).toMatchObject({ kind: 'capacity', message: `podResume: ${REFUSALS.hostFull}` });

    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'High' });
    const spot = await client.deploySpot({ ...deploy, bidPerGpu: 0.5 });
    await client.stopPod(spot.id);
    expect(await runpodError(client.resumePod({ podId: spot.id, gpuCount: 1 }))).toMatchObject({ kind: 'invalid_request' });
  });

  it('a spot mutation RunPod no longer has is unsupported (HTTP 400 GRAPHQL_VALIDATION_FAILED)', async () => {
    await sim.close();
    sim = await RunpodSimulator.start(testMarket({ spotRetired: true }));
    const error = await runpodError(clientFor(sim.url).deploySpot({ ...deploy, bidPerGpu: 0.5 }));
    expect(error).toMatchObject({ kind: 'unsupported', status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('a request RunPod refuses as wrong is invalid_request and not retried', async () => {
    const error = await runpodError(clientFor(sim.url).deployOnDemand({ ...deploy, spec: {} }));
    expect(error).toMatchObject({ kind: 'invalid_request', message: 'podFindAndDeployOnDemand: imageName or templateId is required' });
    expect(sim.requests).toHaveLength(1);
  });
});

describe('a deploy is never sent twice', () => {
  it('after a timeout it is not re-sent, because RunPod may have made the pod', async () => {
    sim.fault({ kind: 'delay', ms: 300, op: 'podFindAndDeployOnDemand' });
    const error = await runpodError(clientFor(sim.url, { timeoutMs: 80 }).deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: true });
    await waitUntil(() => sim.requestsFor('podFindAndDeployOnDemand')[0]?.status === 200, { what: 'the simulator answering the late deploy' });
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
    // The late answer still made a pod: a re-send would have made a second one.
    expect(sim.market.livePods()).toHaveLength(1);
  });

  it.each([500, 502])('after HTTP %i it is not re-sent', async (status) => {
    sim.fault({ kind: 'status', status, op: 'podFindAndDeployOnDemand' });
    expect(await runpodError(clientFor(sim.url).deployOnDemand(deploy))).toMatchObject({ kind: 'transient', status });
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
  });

  it('after a connection reset it is not re-sent', async () => {
    sim.fault({ kind: 'reset', op: 'podFindAndDeployOnDemand' });
    await runpodError(clientFor(sim.url).deployOnDemand(deploy));
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
  });

  it('after a 429 it is re-sent: RunPod answers 429 before processing', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 1, op: 'podFindAndDeployOnDemand' });
    const pod = await clientFor(sim.url).deployOnDemand(deploy);
    expect(sim.requestsFor('podFindAndDeployOnDemand').map((r) => r.status)).toEqual([429, 200]);
    expect(sim.market.livePods().map((p) => p.id)).toEqual([pod.id]);
  });

  it('after a refused connection it is re-sent: nothing reached RunPod', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let attempts = 0;
    const counting: typeof fetch = (input, init) => {
      attempts++;
      return fetch(input, init);
    };
    const error = await runpodError(clientFor(`http://127.0.0.1:${port}/graphql`, { fetch: counting }).deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: false, message: 'podFindAndDeployOnDemand: network error (ECONNREFUSED)' });
    expect(attempts).toBe(3);
  });

  it('a failure to get any answer keeps what failed as its cause; an answer that came has none', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await runpodError(clientFor(`http://127.0.0.1:${port}/graphql`).listPods());
    expect(refused.message).toBe('listPods: network error (ECONNREFUSED)');
    expect(refused.cause).toBeInstanceOf(TypeError);
    expect((refused.cause as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });

    sim.fault({ kind: 'delay', ms: 400 });
    const slow = await runpodError(clientFor(sim.url, { timeoutMs: 100 }).deployOnDemand(deploy));
    expect(slow.message).toBe('podFindAndDeployOnDemand: no answer within 100 ms');
    expect(slow.cause).toBeInstanceOf(Error);

    // graphql-request's error for an answer quotes the request, pod env values included: never kept.
    const answered = await runpodError(clientFor(sim.url, { apiKey: 'rpa_wrong' }).listPods());
    expect([answered.kind, answered.cause]).toEqual(['auth', undefined]);
  });
});

describe('classifyGraphqlErrors on the texts RunPod sends', () => {
  const cases: { name: string; message: string; code?: string; kind: RunpodErrorKind }[] = [
    { name: 'no capacity', message: REFUSALS.capacity, kind: 'capacity' },
    { name: 'no capacity, older text', message: 'There are no longer any instances available with the request specifications. Please try again later.', kind: 'capacity' },
    { name: 'spot, no instances', message: REFUSALS.spotCapacity, kind: 'capacity' },
    { name: 'disk space', message: 'There are no longer any instances available with enough disk space.', kind: 'capacity' },
    { name: 'host full on resume', message: REFUSALS.hostFull, kind: 'capacity' },
    { name: 'none currently, behind a prefix', message: REFUSALS.noneCurrently, kind: 'capacity' },
    { name: 'none currently, bare', message: 'There are no instances currently available', kind: 'capacity' },
    { name: 'machine lacks the resources', message: REFUSALS.machineFull, kind: 'capacity' },
    { name: 'supply code alone', message: 'Deploy failed', code: 'SUPPLY_CONSTRAINT', kind: 'capacity' },
    { name: 'unauthorized', message: 'Unauthorized', kind: 'auth' },
    { name: 'forbidden', message: 'Forbidden: key lacks write scope', kind: 'auth' },
    { name: 'generic failure', message: 'Something went wrong. Please try again later or contact support.', kind: 'transient' },
    { name: 'internal code', message: 'boom', code: 'INTERNAL_SERVER_ERROR', kind: 'transient' },
    { name: 'rate limit text', message: 'rate limit exceeded for the minute window', kind: 'rate_limited' },
    { name: 'removed field', message: 'Cannot query field "minimumBidPrice" on type "LowestPrice".', code: 'GRAPHQL_VALIDATION_FAILED', kind: 'unsupported' },
    { name: 'removed input field', message: 'Field "bidPerGpu" is not defined by type "PodRentInterruptableInput".', code: 'GRAPHQL_VALIDATION_FAILED', kind: 'unsupported' },
    { name: 'other validation', message: 'Variable "$input" of required type "PodStopInput!" was not provided.', code: 'GRAPHQL_VALIDATION_FAILED', kind: 'invalid_request' },
    { name: 'spot pod resumed on-demand', message: REFUSALS.spotAsOnDemand, kind: 'invalid_request' },
    { name: 'pod not found', message: 'pod not found to terminate', kind: 'invalid_request' },
  ];
  it.each(cases)('$name → $kind', ({ message, code, kind }) => {
    const error = classifyGraphqlErrors('op', [{ message, ...(code ? { extensions: { code } } : {}) }], 200);
    expect(error.kind).toBe(kind);
  });
});

describe('which errors name a retired spot field', () => {
  it.each([
    ['a validation error', [{ message: 'Cannot query field "minimumBidPrice" on type "LowestPrice".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }], 'minimumBidPrice'],
    ['errors[] without a code', [{ message: 'Cannot query field "podRentInterruptable" on type "Mutation".' }], 'podRentInterruptable'],
    ['an input field', [{ message: 'Field "bidPerGpu" is not defined by type "PodRentInterruptableInput".' }], 'bidPerGpu'],
    ['a per-field error, by its path', [{ message: 'field removed', path: ['k0', 0, 'lowestPrice', 'minimumBidPrice'] }], 'minimumBidPrice'],
    ['a null parent, by its message', [{ message: 'podBidResume is no longer available', path: ['k0', 0, 'lowestPrice'] }], 'podBidResume'],
  ])('%s names %s', (_name, errors, field) => {
    expect(classifyGraphqlErrors('op', errors, 200)).toMatchObject({ kind: 'unsupported', spotField: field });
    expect(spotFieldRefused(errors)?.field).toBe(field);
  });

  it.each([
    ['a capacity refusal of the spot mutation (the path root is only the operation)', [{ message: REFUSALS.spotCapacity, path: ['podRentInterruptable'] }]],
    ['a spot price that failed to compute this once', [{ message: 'Internal server error', path: ['k0', 0, 'lowestPrice', 'minimumBidPrice'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]],
    ['an error about another field', [{ message: 'Cannot query field "stockStatus" on type "LowestPrice".' }]],
  ])('%s names none', (_name, errors) => {
    expect(classifyGraphqlErrors('op', errors, 200).spotField).toBeUndefined();
    expect(spotFieldRefused(errors)).toBeUndefined();
  });
});

describe('RunPod refusals seen on the wire since the first wave', () => {
  it.each([REFUSALS.noneCurrently, REFUSALS.machineFull])('"%s" on a deploy is capacity', async (message) => {
    sim.fault({ kind: 'graphqlError', message, op: 'podFindAndDeployOnDemand' });
    expect(await runpodError(clientFor(sim.url).deployOnDemand(deploy))).toMatchObject({ kind: 'capacity', message: `podFindAndDeployOnDemand: ${message}` });
  });

  it('HTTP 410 Gone is retired: reads and writes fail at once, never retried', async () => {
    sim.fault({ kind: 'status', status: 410, times: 10 });
    const client = clientFor(sim.url);
    expect(await runpodError(client.snapshot([A6000]))).toMatchObject({ kind: 'retired', status: 410, mayHaveReachedRunpod: false });
    expect(await runpodError(client.listPods())).toMatchObject({ kind: 'retired' });
    expect(await runpodError(client.deployOnDemand(deploy))).toMatchObject({ kind: 'retired' });
    expect(sim.requests.map((r) => r.status)).toEqual([410, 410, 410]);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('a Retry-After the call does not wait out holds every request until it has passed', () => {
  it('with Retry-After 120 s, no request reaches RunPod for 120 s, reads and writes alike; then they go again', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 120 });
    const client = clientFor(sim.url);
    expect(await runpodError(client.snapshot([A6000]))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 120_000 });
    const holdEnds = new Date(clock.now() + 120_000).toISOString();
    for (const step of [0, 30_000, 30_000, 30_000, 29_999]) {
      clock.advance(step);
      const calls = [client.snapshot([A6000]), client.catalog({ gpuCount: 1, cloud: 'ALL' }), client.listPods(), client.deployOnDemand(deploy), client.stopPod('p1')];
      for (const call of calls) {
        const held = await runpodError(call);
        expect(held).toMatchObject({ kind: 'rate_limited', mayHaveReachedRunpod: false });
        expect(held.message).toContain(`RunPod asked to wait until ${holdEnds}`);
      }
    }
    expect(sim.requests).toHaveLength(1);
    clock.advance(1);
    expect((await client.snapshot([A6000])).offers).toHaveLength(1);
    expect((await client.deployOnDemand(deploy)).desiredStatus).toBe('RUNNING');
    expect(sim.requests.map((r) => r.status)).toEqual([429, 200, 200]);
  });

  it('a short Retry-After the call waited out but could not get past also holds what follows', async () => {
    sim.fault({ kind: 'status', status: 429, retryAfter: 20, times: 3 });
    const client = clientFor(sim.url);
    await runpodError(client.snapshot([A6000]));
    expect(clock.sleeps).toEqual([20_000, 20_000]);
    expect(await runpodError(client.listPods())).toMatchObject({ kind: 'rate_limited', mayHaveReachedRunpod: false });
    expect(sim.requests).toHaveLength(3);
    clock.advance(20_000);
    await client.listPods();
    expect(sim.requests).toHaveLength(4);
  });

  it('a 503 with a long Retry-After holds too', async () => {
    sim.fault({ kind: 'status', status: 503, retryAfter: 300 });
    const client = clientFor(sim.url);
    expect(await runpodError(client.snapshot([A6000]))).toMatchObject({ kind: 'transient', status: 503, retryAfterMs: 300_000 });
    expect(await runpodError(client.snapshot([A6000]))).toMatchObject({ kind: 'rate_limited', mayHaveReachedRunpod: false });
    expect(sim.requests).toHaveLength(1);
  });
});

describe('RunPod error texts are sanitised before they become a RunpodError', () => {
  const env = { HF_TOKEN: 'hf_s3cret_value', GPU_WATCHER_RULE: 'trainer' };
  const withEnv: OnDemandDeploy = { ...deploy, spec: { imageName: 'runpod/pytorch', env } };

  it('cuts the key and the pod env values RunPod echoes in a 200 error, and keeps the rest', async () => {
    sim.fault({ kind: 'graphqlError', message: `Invalid input (key ${TEST_KEY}):`, echoInput: true, op: 'podFindAndDeployOnDemand' });
    const error = await runpodError(clientFor(sim.url).deployOnDemand(withEnv));
    expect(error.message).not.toContain('hf_s3cret_value');
    expect(error.message).not.toContain(TEST_KEY);
    expect(error.message).toContain(`"HF_TOKEN","value":"${REDACTED}"`);
    expect(error.message).toContain('"gpuTypeId":"NVIDIA RTX A6000"');
    expect(error.message).toContain('"GPU_WATCHER_RULE","value":"trainer"');
  });

  it('cuts them from an HTTP 400 body too', async () => {
    sim.fault({ kind: 'status', status: 400, message: 'env HF_TOKEN=hf_s3cret_value is not allowed', op: 'podFindAndDeployOnDemand' });
    const error = await runpodError(clientFor(sim.url).deployOnDemand(withEnv));
    expect(error).toMatchObject({ status: 400, message: `podFindAndDeployOnDemand: env HF_TOKEN=${REDACTED} is not allowed` });
  });
});
