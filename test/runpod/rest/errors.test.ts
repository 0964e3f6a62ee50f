import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodError } from '../../../src/runpod/errors.js';
import type { OnDemandDeploy, WatchKey } from '../../../src/runpod/types.js';
import { REDACTED } from '../../../src/lib/sanitise.js';
import { REFUSALS } from '../../../src/sim/market.js';
import { RunpodSimulator } from '../../../src/sim/server.js';
import { capturedLogger } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../../helpers/market.js';
import { restClientFor } from '../../helpers/rest.js';
import { waitUntil } from '../../helpers/wait.js';
import { runpodError } from '../../helpers/runpod-error.js';

const A6000: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
const deploy: OnDemandDeploy = {
  spec: { name: 'trainer', imageName: 'runpod/pytorch', env: { GPU_WATCHER_RULE: 'trainer', GPU_WATCHER_DEPLOY: 'dep_1', HF_TOKEN: 'hf_secret_value' } },
  gpuTypeId: 'NVIDIA RTX A6000',
  gpuCount: 1,
  cloud: 'SECURE',
  deployCost: 1,
};

let sim: RunpodSimulator;
let clock: FakeClock;
let seen: RunpodError[];

const client = (options: Parameters<typeof restClientFor>[1] = {}) => restClientFor(sim, { clock, onError: (e) => seen.push(e), ...options });

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  clock = new FakeClock();
  seen = [];
});
afterEach(async () => {
  await sim.close();
});

const creates = () => sim.requestsFor('createPod');

describe('v2 problem answers, classified', () => {
  it.each([
    REFUSALS.capacity,
    'There are no longer any instances available with the request specifications. Please try again later.',
    'There are no instances currently available',
    REFUSALS.machineFull,
  ])('400 with a capacity text is capacity: "%s"', async (detail) => {
    sim.fault({ kind: 'rest', status: 400, detail, op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'capacity', status: 400, operation: 'createPod', mayHaveReachedRunpod: true });
  });

  it('no stock is the simulator’s own capacity 400, with RunPod’s text', async () => {
    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'None' });
    const error = await runpodError(client().deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'capacity', status: 400, message: `createPod: HTTP 400: ${REFUSALS.capacity}` });
    expect(creates()).toHaveLength(1);
  });

  it('another 400 is invalid_request; RunPod’s generic "Something went wrong" is not capacity', async () => {
    sim.fault({ kind: 'rest', status: 400, detail: 'dataCenterIds: unknown data center XX-1', op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'invalid_request', status: 400 });
    sim.fault({ kind: 'rest', status: 400, detail: 'Something went wrong. Please try again later or contact support.', op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'invalid_request' });
  });

  it('a wrong key is 401, no key 401, a key without scope (403 on a read or an action): auth, not retried', async () => {
    expect(await runpodError(client({ apiKey: 'rpa_wrong' }).snapshot([A6000]))).toMatchObject({ kind: 'auth', status: 401, message: 'snapshot: HTTP 401: check RUNPOD_API_KEY (invalid API key)' });
    expect(await runpodError(client({ apiKey: undefined }).listPods())).toMatchObject({ kind: 'auth', status: 401 });
    sim.fault({ kind: 'rest', status: 403, detail: 'key scope', op: 'listPods' });
    expect(await runpodError(client().listPods())).toMatchObject({ kind: 'auth', status: 403 });
    sim.fault({ kind: 'rest', status: 403, detail: 'key scope', op: 'podAction' });
    expect(await runpodError(client().stopPod('p1'))).toMatchObject({ kind: 'auth', status: 403 });
    expect(sim.requests).toHaveLength(4);
  });

  it('403 on a create is no_access (RunPod: no access to that GPU pool), not auth, not retried', async () => {
    sim.fault({ kind: 'rest', status: 403, detail: 'this account cannot use the pool', op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'no_access', status: 403, message: 'createPod: HTTP 403: this account cannot use the pool' });
    expect(sim.requests).toHaveLength(1);
  });

  it('402 is the new payment kind', async () => {
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod' });
    const error = await runpodError(client().deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'payment', status: 402, message: 'createPod: HTTP 402: insufficient balance' });
    expect(sim.market.livePods()).toHaveLength(0);
  });

  it('404 on a pod action and 409 for an action its status does not allow are invalid_request', async () => {
    expect(await runpodError(client().stopPod('nope'))).toMatchObject({ kind: 'invalid_request', status: 404, message: 'stopPod: HTTP 404: pod not found' });
    const pod = sim.market.addExistingPod({ name: 'p', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    expect(await runpodError(client().stopPod(pod.id))).toMatchObject({ kind: 'invalid_request', status: 409, message: 'stopPod: HTTP 409: cannot stop a pod that is EXITED' });
  });

  it('410 is retired, never retried', async () => {
    sim.fault({ kind: 'rest', status: 410, detail: 'REST v2 has been retired', op: 'listPods', times: 5 });
    expect(await runpodError(client().listPods())).toMatchObject({ kind: 'retired', status: 410, mayHaveReachedRunpod: false });
    expect(sim.requests).toHaveLength(1);
  });

  it('422 is invalid_request, naming each field RunPod refused', async () => {
    // A pod volume under v2's 10 GB floor: the simulator's own check of the body, as RunPod's.
    const error = await runpodError(client().deployOnDemand({ ...deploy, spec: { ...deploy.spec, volumeInGb: 5 } }));
    expect(error).toMatchObject({ kind: 'invalid_request', status: 422 });
    expect(error.message).toContain('$.mounts.persistent.size: must be >= 10');
    sim.fault({ kind: 'rest', status: 422, detail: 'validation failed', errors: ["$: additional properties 'bogus' not allowed"], op: 'createPod' });
    expect((await runpodError(client().deployOnDemand(deploy))).message).toBe("createPod: HTTP 422: validation failed; $: additional properties 'bogus' not allowed");
  });

  it.each([500, 502, 503])('%i is transient: a read is retried, a create is not (RunPod may have made the pod)', async (status) => {
    sim.fault({ kind: 'rest', status, op: 'listPods' });
    expect(await client().listPods()).toEqual([]);
    expect(seen.map((e) => [e.kind, e.status])).toEqual([['transient', status]]);
    sim.fault({ kind: 'rest', status, op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'transient', status, mayHaveReachedRunpod: true });
    expect(creates()).toHaveLength(1);
  });

  it('a proxy’s HTML 502 is transient, its text sanitised and capped', async () => {
    sim.fault({ kind: 'raw', status: 502, contentType: 'text/html', body: `<html>${'x'.repeat(500)} Bearer ${TEST_KEY}</html>`, op: 'listPods', times: 3 });
    const error = await runpodError(client().listPods());
    expect(error).toMatchObject({ kind: 'transient', status: 502 });
    expect(error.message).not.toContain(TEST_KEY);
    expect(error.message.length).toBeLessThan(360);
  });
});

describe('429 and RunPod’s rate-limit fields', () => {
  it('a read waits out Retry-After, then succeeds', async () => {
    sim.fault({ kind: 'rest', status: 429, retryAfter: 7, detail: 'rate limit exceeded for the minute window', op: 'listPods' });
    expect(await client().listPods()).toEqual([]);
    expect(seen.map((e) => [e.kind, e.retryAfterMs])).toEqual([['rate_limited', 7_000]]);
    expect(clock.sleeps).toEqual([7_000]);
  });

  it('a create is re-sent after a 429: RunPod refuses it before processing anything', async () => {
    sim.fault({ kind: 'rest', status: 429, retryAfter: 1, op: 'createPod' });
    const pod = await client().deployOnDemand(deploy);
    expect(creates().map((r) => r.status)).toEqual([429, 201]);
    expect(sim.market.livePods().map((p) => p.id)).toEqual([pod.id]);
  });

  it('a Retry-After too long to wait fails the call and holds every request until it has passed', async () => {
    const c = client();
    sim.fault({ kind: 'rest', status: 429, retryAfter: 3_600, op: 'listPods' });
    expect(await runpodError(c.listPods())).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3_600_000 });
    expect(await runpodError(c.snapshot([A6000]))).toMatchObject({ kind: 'rate_limited', message: expect.stringContaining('(Retry-After)') });
    expect(sim.requests).toHaveLength(1);
    clock.advance(3_600_000);
    expect((await c.snapshot([A6000])).offers).toHaveLength(1);
  });

  it('a used-up RateLimit window holds requests until it resets, without waiting for a 429', async () => {
    await sim.close();
    sim = await RunpodSimulator.start(testMarket({ restRateLimit: { minute: 2, day: 1_000 } }));
    const { logger, logs } = capturedLogger();
    const c = client({ logger });
    await c.listPods();
    expect(sim.requests[0]?.status).toBe(200);
    await c.listPods();
    const held = await runpodError(c.listPods());
    expect(held).toMatchObject({ kind: 'rate_limited', mayHaveReachedRunpod: false, message: expect.stringContaining('(RateLimit: the minute window is used up)') });
    expect(sim.requests).toHaveLength(2);
    expect(logs.text()).toContain('"policy":"2/minute, 1000/day"');
    // Once the window has reset on the client's clock it sends again (the simulator counts on the
    // real clock, so it still refuses: a 429 with a Retry-After too long to wait in one call).
    clock.advance(60_000);
    expect(await runpodError(c.listPods())).toMatchObject({ kind: 'rate_limited', status: 429, message: 'listPods: HTTP 429: rate limit exceeded for the minute window' });
    expect(sim.requests).toHaveLength(3);
  });
});

describe('transport failures and the never-twice rule', () => {
  it('a timeout is transient; a timed-out create is not re-sent', async () => {
    sim.fault({ kind: 'delay', ms: 300, op: 'createPod' });
    const error = await runpodError(client({ timeoutMs: 80 }).deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: true, message: 'createPod: no answer within 80 ms' });
    await waitUntil(() => creates()[0]?.status === 201, { what: 'the simulator answering the late create' });
    expect(creates()).toHaveLength(1);
    expect(sim.market.livePods()).toHaveLength(1);
  });

  it('a reset create is not re-sent', async () => {
    sim.fault({ kind: 'reset', op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: true });
    expect(creates()).toHaveLength(1);
  });

  it('an answer with no words of its own says its status once: "HTTP 401: check RUNPOD_API_KEY", not "... (HTTP 401)"', async () => {
    const bare = http.createServer((_req, res) => res.writeHead(Number(_req.url?.endsWith('/pods') ? 401 : 410)).end());
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const { port } = bare.address() as AddressInfo;
    const at = client({ url: `http://127.0.0.1:${port}/v2` });
    expect(await runpodError(at.listPods())).toMatchObject({ kind: 'auth', message: 'listPods: HTTP 401: check RUNPOD_API_KEY' });
    expect(await runpodError(at.stopPod('p1'))).toMatchObject({ kind: 'retired', message: 'stopPod: HTTP 410 Gone: RunPod has retired this API' });
    await new Promise<void>((resolve) => bare.close(() => resolve()));
  });

  it('a refused connection is re-sent, a create too: nothing reached RunPod', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await runpodError(client({ url: `http://127.0.0.1:${port}/v2` }).deployOnDemand(deploy));
    expect(error).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: false, message: 'createPod: network error (ECONNREFUSED)' });
    expect(seen).toHaveLength(3);
  });

  it('a 2xx answer that is not JSON, or not what the spec says, is transient (a read is retried)', async () => {
    sim.fault({ kind: 'malformed', op: 'listGpuTypes' });
    expect((await client().snapshot([A6000])).offers).toHaveLength(1);
    expect(seen.map((e) => e.message)).toEqual(['snapshot: malformed answer (not JSON)']);
    sim.fault({ kind: 'raw', status: 200, body: '{"pods":"none"}', op: 'listPods', times: 3 });
    expect(await runpodError(client().listPods())).toMatchObject({ kind: 'transient', status: 200, message: 'listPods: malformed answer (no pods list)' });
    sim.fault({ kind: 'raw', status: 201, body: '{"id":"x"}', op: 'createPod' });
    expect(await runpodError(client().deployOnDemand(deploy))).toMatchObject({ kind: 'transient', mayHaveReachedRunpod: true, message: 'createPod: malformed answer (not a v2 pod)' });
  });
});

describe('secrets', () => {
  it('the key goes only in the Authorization header', async () => {
    await client().snapshot([A6000]);
    await client().deployOnDemand(deploy);
    for (const request of sim.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
      expect(request.url).not.toContain(TEST_KEY);
      expect(request.body).not.toContain(TEST_KEY);
    }
  });

  it('RunPod’s words are cut of the key and the pod env values before they become an error', async () => {
    sim.fault({ kind: 'rest', status: 400, detail: `bad env {"HF_TOKEN":"hf_secret_value"} for ${TEST_KEY}`, op: 'createPod' });
    const error = await runpodError(client().deployOnDemand(deploy));
    expect(error.message).toBe(`createPod: HTTP 400: bad env {"HF_TOKEN":"${REDACTED}"} for ${REDACTED}`);
  });
});
