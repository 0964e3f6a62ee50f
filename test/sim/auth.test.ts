import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function post(url: string, query: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const withKey = (url: string, key: string) => `${url}?api_key=${encodeURIComponent(key)}`;
const ME = '{ myself { id } }';
const STOP = 'mutation { podStop(input: {podId: "nope"}) { id } }';

describe('the API key, as RunPod takes it', () => {
  it('?api_key= in the URL works as the Bearer header does; a wrong key either way is HTTP 401', async () => {
    sim = await RunpodSimulator.start(testMarket());
    expect(await post(withKey(sim.url, TEST_KEY), ME)).toEqual({ status: 200, body: { data: { myself: { id: 'sim-user' } } } });
    expect(await post(sim.url, ME, bearer(TEST_KEY))).toEqual({ status: 200, body: { data: { myself: { id: 'sim-user' } } } });
    expect(await post(withKey(sim.url, 'rpa_wrong'), ME)).toEqual({ status: 401, body: 'Unauthorized' });
    expect((await post(withKey(sim.url, 'rpa_wrong'), '{ gpuTypes { id } }')).status).toBe(401);
    // Both given: both must be right.
    expect((await post(withKey(sim.url, TEST_KEY), ME, bearer('rpa_wrong'))).status).toBe(401);
    expect((await post(withKey(sim.url, 'rpa_wrong'), ME, bearer(TEST_KEY))).status).toBe(401);
    // An empty ?api_key= is no key at all.
    expect(await post(`${sim.url}?api_key=`, ME)).toEqual({ status: 200, body: { data: { myself: null } } });
  });

  it('without a key: the catalog answers, myself and pod are null at HTTP 200, a mutation is HTTP 401', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const pod = sim.market.addExistingPod({ name: 'p', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    const mixed = await post(sim.url, `{ myself { id pods { id } } pod(input: {podId: "${pod.id}"}) { id } gpuTypes(input: {id: "NVIDIA RTX A5000"}) { id } dataCenters { id } countryCodes }`);
    expect(mixed.status).toBe(200);
    expect(mixed.body.errors).toBeUndefined();
    expect(mixed.body.data).toMatchObject({ myself: null, pod: null, gpuTypes: [{ id: 'NVIDIA RTX A5000' }] });
    expect(mixed.body.data.dataCenters.length).toBeGreaterThan(0);
    expect(await post(sim.url, STOP)).toEqual({ status: 401, body: 'Unauthorized' });
    expect(sim.market.pods.get(pod.id)?.desiredStatus).toBe('RUNNING');
    expect((await post(sim.url, `{ pod(input: {podId: "${pod.id}"}) { id } }`, bearer(TEST_KEY))).body.data.pod).toEqual({ id: pod.id });
  });

  it('a simulator without a key of its own takes any Bearer or ?api_key= key, but not another scheme', async () => {
    sim = await RunpodSimulator.start(testMarket({ apiKey: undefined }));
    expect((await post(withKey(sim.url, 'anything'), ME)).body.data.myself).toEqual({ id: 'sim-user' });
    expect((await post(sim.url, ME, bearer('anything'))).body.data.myself).toEqual({ id: 'sim-user' });
    expect((await post(sim.url, ME, { authorization: 'Basic abc' })).status).toBe(401);
  });

  it('the daemon sends its key only as the Bearer header, never in the URL', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const d = daemonFor(sim, `rules:\n  - { name: r, cloud: SECURE, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i } }\n`);
    await d.watcher.tick();
    expect(new Set(sim.requests.flatMap((r) => r.rootFields))).toEqual(new Set(['gpuTypes', 'myself', 'podFindAndDeployOnDemand']));
    for (const request of sim.requests) {
      expect([request.url, request.headers.authorization]).toEqual(['/graphql', `Bearer ${TEST_KEY}`]);
    }
  });
});

describe('introspection', () => {
  const SCHEMA = '{ __schema { queryType { name } } }';
  const POD_TYPE = '{ __type(name: "Pod") { fields { name } } }';

  it('is refused as RunPod refuses it, with HTTP 400 GRAPHQL_VALIDATION_FAILED, key or not; __typename is not introspection', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const refusal = {
      status: 400,
      body: { errors: [{ message: 'GraphQL introspection is not allowed, but the query contained __schema or __type.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] },
    };
    expect(await post(sim.url, SCHEMA)).toEqual(refusal);
    expect(await post(sim.url, POD_TYPE, bearer(TEST_KEY))).toEqual(refusal);
    expect(await post(sim.url, `{ gpuTypes { id } a: __schema { types { name } } b: __type(name: "Pod") { name } }`)).toEqual(refusal);
    expect(await post(sim.url, '{ __typename gpuTypes(input: {id: "NVIDIA RTX A5000"}) { __typename id } }')).toEqual({
      status: 200,
      body: { data: { __typename: 'Query', gpuTypes: [{ __typename: 'GpuType', id: 'NVIDIA RTX A5000' }] } },
    });
    // A query that is invalid anyway gets the schema's own errors.
    expect((await post(sim.url, '{ __schema { nope } }')).body.errors[0].message).toBe('Cannot query field "nope" on type "__Schema".');
  });

  it('answers when asked for, with the schema the simulator validates against', async () => {
    sim = await RunpodSimulator.start(testMarket(), { introspection: true });
    expect(await post(sim.url, SCHEMA)).toEqual({ status: 200, body: { data: { __schema: { queryType: { name: 'Query' } } } } });
    const fields = (await post(sim.url, POD_TYPE)).body.data.__type.fields.map((f: { name: string }) => f.name);
    expect(fields).toEqual(expect.arrayContaining(['uptimeSeconds', 'dockerId', 'port', 'runtime']));
  });
});
