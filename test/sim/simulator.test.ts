import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { loadScenario } from '../../src/sim/scenario.js';
import { DEMO_SCENARIO_PATH } from '../../src/commands/demo.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : text };
}

const auth = { authorization: `Bearer ${TEST_KEY}` };
const stockQuery = (id: string) => ({ query: `{ gpuTypes(input: {id: "${id}"}) { id lowestPrice(input: {gpuCount: 1, secureCloud: true}) { stockStatus uninterruptablePrice } } }` });

describe('RunPod simulator', () => {
  it('answers an invalid query with HTTP 400 GRAPHQL_VALIDATION_FAILED, as RunPod does', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { status, json } = await post(sim.url, { query: '{ gpuTypes(input: {gpuCount: 1}) { id } machines { id } }' });
    expect(status).toBe(400);
    expect(json.errors.map((e: any) => [e.message, e.extensions.code])).toEqual([
      ['Field "gpuCount" is not defined by type "GpuTypeFilter".', 'GRAPHQL_VALIDATION_FAILED'],
      ['Cannot query field "machines" on type "Query".', 'GRAPHQL_VALIDATION_FAILED'],
    ]);
  });

  it('answers the catalog without a key, and protected fields only with the right key', async () => {
    sim = await RunpodSimulator.start(testMarket());
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).json.data.gpuTypes[0].lowestPrice).toEqual({ stockStatus: 'High', uninterruptablePrice: 0.79 });
    expect(await post(sim.url, { query: '{ myself { id } }' })).toEqual({ status: 200, json: { data: { myself: null } } });
    expect((await post(sim.url, { query: '{ myself { id } }' }, { authorization: 'Bearer rpa_wrong' })).status).toBe(401);
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'), { authorization: 'Bearer rpa_wrong' })).status).toBe(401);
    expect((await post(sim.url, { query: '{ myself { id } }' }, auth)).json).toEqual({ data: { myself: { id: 'sim-user' } } });
  });

  it('plays a timeline written in YAML, step by step, looping when asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sim-'));
    const file = join(dir, 'market.yaml');
    await writeFile(
      file,
      [
        'loop: true',
        'gpus:',
        '  - { id: G1, secure: { stock: None, price: 1.0 } }',
        'steps:',
        '  - set: [{ gpu: G1, cloud: SECURE, stock: High }]',
        '  - set: [{ gpu: G1, cloud: SECURE, stock: Low, price: 0.9 }]',
        '    faults: [{ kind: status, status: 502 }]',
      ].join('\n'),
    );
    sim = await RunpodSimulator.start(await loadScenario(file));
    const seen: unknown[] = [];
    const read = async () => {
      const { status, json } = await post(sim!.url, stockQuery('G1'));
      seen.push(status === 200 ? json.data.gpuTypes[0].lowestPrice : status);
    };
    await read();
    sim.advance();
    await read();
    sim.advance();
    await read();
    await read();
    sim.advance();
    await read();
    expect(seen).toEqual([
      { stockStatus: 'None', uninterruptablePrice: 1 },
      { stockStatus: 'High', uninterruptablePrice: 1 },
      502,
      { stockStatus: 'Low', uninterruptablePrice: 0.9 },
      { stockStatus: 'High', uninterruptablePrice: 0.9 },
    ]);
  });

  it('matches faults to root fields and spends them in order', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 500, op: 'myself', times: 2 });
    sim.fault({ kind: 'status', status: 503 });
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).status).toBe(503);
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).status).toBe(200);
    expect((await post(sim.url, { query: '{ myself { id } }' }, auth)).status).toBe(500);
    expect((await post(sim.url, { query: '{ myself { id } }' }, auth)).status).toBe(500);
    expect((await post(sim.url, { query: '{ myself { id } }' }, auth)).status).toBe(200);
  });

  it('validates every request before any fault: a bad query is refused and does not spend the fault', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'raw', body: '{"data":null}' });
    expect((await post(sim.url, { query: '{ gpuTypes { nope } }' })).status).toBe(400);
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).json).toEqual({ data: null });
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).status).toBe(200);
  });

  it('answers any body at any status with a raw fault, and stops faulting once faults are cleared', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'raw', status: 503, contentType: 'text/html', body: '<html>503</html>', times: 10 });
    const res = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stockQuery('NVIDIA RTX A6000')) });
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([503, 'text/html', '<html>503</html>']);
    sim.clearFaults();
    expect((await post(sim.url, stockQuery('NVIDIA RTX A6000'))).status).toBe(200);
  });

  it('puts a GraphQL error on the request, the first field or each field, naming fields by their alias', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const query = { query: '{ a: gpuTypes { id } b: gpuTypes { id } }' };
    sim.fault({ kind: 'graphqlError', message: 'boom', scope: 'request' });
    sim.fault({ kind: 'graphqlError', message: 'boom' });
    sim.fault({ kind: 'graphqlError', message: 'boom', scope: 'each', code: 'INTERNAL_SERVER_ERROR' });
    expect((await post(sim.url, query)).json).toEqual({ data: null, errors: [{ message: 'boom' }] });
    expect((await post(sim.url, query)).json).toEqual({ data: { a: null, b: null }, errors: [{ message: 'boom', path: ['a'] }] });
    expect((await post(sim.url, query)).json).toEqual({
      data: { a: null, b: null },
      errors: ['a', 'b'].map((k) => ({ message: 'boom', path: [k], extensions: { code: 'INTERNAL_SERVER_ERROR' } })),
    });
  });

  it('records every request with its root fields and status', async () => {
    sim = await RunpodSimulator.start(testMarket());
    await post(sim.url, { query: 'query Q { a: gpuTypes { id } b: gpuTypes { id } }', operationName: 'Q' });
    await post(sim.url, 'not json');
    const res = await fetch(`${sim.url.replace('/graphql', '/other')}`);
    expect(res.status).toBe(404);
    expect(sim.requests.map((r) => [r.operationName, r.rootFields, r.status])).toEqual([
      ['Q', ['gpuTypes', 'gpuTypes'], 200],
      [null, [], 400],
      [null, [], 404],
    ]);
  });

  it('refuses a spot bid below the minimum bid with RunPod text', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const mutation = 'mutation($input: PodRentInterruptableInput!) { podRentInterruptable(input: $input) { id costPerHr } }';
    const low = await post(sim.url, { query: mutation, variables: { input: { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloudType: 'SECURE', bidPerGpu: 0.3, imageName: 'i' } } }, auth);
    expect(low.json.errors[0].message).toBe('There are no instances available with the request specifications. Please try again later.');
    const ok = await post(sim.url, { query: mutation, variables: { input: { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloudType: 'SECURE', bidPerGpu: 0.42, imageName: 'i' } } }, auth);
    expect(ok.json.data.podRentInterruptable.costPerHr).toBe(0.42);
  });

  it('serves the schema without spot once RunPod retires it', async () => {
    sim = await RunpodSimulator.start(testMarket({ spotRetired: true }));
    const { status, json } = await post(sim.url, { query: '{ gpuTypes { lowestPrice(input: {gpuCount: 1}) { minimumBidPrice } } }' });
    expect(status).toBe(400);
    expect(json.errors[0].message).toBe('Cannot query field "minimumBidPrice" on type "LowestPrice".');
  });

  it('retires spot at run time in each of the shapes RunPod may use, and serves it again', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const query = { query: '{ k0: gpuTypes(input: {id: "NVIDIA RTX A6000"}) { id lowestPrice(input: {gpuCount: 1, secureCloud: true}) { uninterruptablePrice minimumBidPrice } } }' };
    const without = { query: '{ k0: gpuTypes(input: {id: "NVIDIA RTX A6000"}) { id lowestPrice(input: {gpuCount: 1, secureCloud: true}) { uninterruptablePrice } } }' };
    const shapes = [];
    for (const shape of ['validation', 'errors', 'field', 'null'] as const) {
      sim.retireSpot(shape);
      const { status, json } = await post(sim.url, query);
      shapes.push({ status, data: json.data, errors: json.errors.map((e: any) => ({ message: e.message, path: e.path, code: e.extensions?.code })) });
      expect((await post(sim.url, without)).json.data.k0[0].lowestPrice).toEqual({ uninterruptablePrice: 0.79 });
    }
    const gone = 'minimumBidPrice is no longer available: spot pods are retired';
    expect(shapes).toEqual([
      { status: 400, data: undefined, errors: [{ message: 'Cannot query field "minimumBidPrice" on type "LowestPrice".', path: undefined, code: 'GRAPHQL_VALIDATION_FAILED' }] },
      { status: 200, data: undefined, errors: [{ message: 'Cannot query field "minimumBidPrice": spot pods are retired', path: undefined, code: undefined }] },
      { status: 200, data: { k0: [{ id: 'NVIDIA RTX A6000', lowestPrice: { uninterruptablePrice: 0.79, minimumBidPrice: null } }] }, errors: [{ message: gone, path: ['k0', 0, 'lowestPrice', 'minimumBidPrice'], code: undefined }] },
      { status: 200, data: { k0: [{ id: 'NVIDIA RTX A6000', lowestPrice: null }] }, errors: [{ message: gone, path: ['k0', 0, 'lowestPrice'], code: undefined }] },
    ]);
    sim.retireSpot(false);
    expect((await post(sim.url, query)).json.data.k0[0].lowestPrice).toEqual({ uninterruptablePrice: 0.79, minimumBidPrice: 0.41 });
  });

  it('loads the built-in demo scenario', async () => {
    const scenario = await loadScenario(DEMO_SCENARIO_PATH);
    expect(scenario.gpus.length).toBeGreaterThanOrEqual(5);
    expect(scenario.steps.length).toBeGreaterThanOrEqual(5);
  });

  it('reports every problem of a bad scenario file with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sim-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'gpus: [{ id: G1, secure: { stok: High } }]\nsteps: [{ faults: [{ kind: explode }] }]\n');
    await expect(loadScenario(file)).rejects.toThrow(/gpus\.0\.secure: Unrecognized key: "stok"[\s\S]*steps\.0\.faults\.0\.kind/);
  });
});
