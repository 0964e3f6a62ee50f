import { afterEach, describe, expect, it } from 'vitest';
import { V2Contract } from '../../src/sim/rest/contract.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const A6000 = 'NVIDIA RTX A6000';
const auth = { authorization: `Bearer ${TEST_KEY}` };
const contract = new V2Contract();

let sim: RunpodSimulator;
afterEach(async () => {
  await sim.close();
});

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}

async function call(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`${sim.restUrl}${path}`, {
    method,
    headers: { ...(options.headers ?? auth), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) };
}

/** The answer checked against the spec's response schema for its operation and status. */
function conforms(method: string, path: string, answer: Answer): string[] {
  const found = contract.find(method, `/v2${path.split('?')[0] ?? path}`);
  if (!found || !('operation' in found)) throw new Error(`no operation for ${method} ${path}`);
  return contract.checkResponse(found.operation, answer.status, answer.json);
}

const start = async (overrides: Partial<ScenarioInput> = {}) => {
  sim = await RunpodSimulator.start(testMarket(overrides));
};

describe('the simulator’s REST v2 side', () => {
  it('takes the key only as a Bearer header: none, a wrong one, or ?api_key= is a 401 problem', async () => {
    await start();
    const none = await call('GET', '/pods', { headers: {} });
    expect(none).toMatchObject({ status: 401, json: { title: 'Unauthorized', status: 401, detail: 'missing bearer token' } });
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect(none.headers.get('ratelimit')).toBeNull();
    expect((await call('GET', `/pods?api_key=${TEST_KEY}`, { headers: {} })).status).toBe(401);
    expect((await call('GET', '/pods', { headers: { authorization: 'Bearer rpa_wrong' } })).json.detail).toBe('invalid API key');
    expect((await call('GET', '/pods')).status).toBe(200);
  });

  it('tells RateLimit and RateLimit-Policy on every authenticated answer, and answers 429 with Retry-After past the limit', async () => {
    await start({ restRateLimit: { minute: 2, hour: 3_000, day: 50_000 } });
    const first = await call('GET', '/pods');
    expect(first.headers.get('ratelimit')).toMatch(/^"minute";r=1;t=\d+, "hour";r=2999;t=\d+, "day";r=49999;t=\d+$/);
    expect(first.headers.get('ratelimit-policy')).toBe('"minute";q=2;w=60, "hour";q=3000;w=3600, "day";q=50000;w=86400');
    const refused = await call('GET', '/pods/nope');
    expect(refused.status).toBe(404);
    expect(refused.headers.get('ratelimit')).toMatch(/^"minute";r=0;/);
    const limited = await call('GET', '/pods');
    expect(limited).toMatchObject({ status: 429, json: { title: 'Too Many Requests', status: 429, detail: 'rate limit exceeded for the minute window' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('answers as the spec says: catalog, pods, create, actions and problems all match its response schemas', async () => {
    await start();
    const answers: [string, string, Answer][] = [];
    const check = async (method: string, path: string, body?: unknown): Promise<Answer> => {
      const answer = await call(method, path, body === undefined ? {} : { body });
      answers.push([method, path, answer]);
      return answer;
    };
    await check('GET', '/catalog/gpus');
    await check('GET', '/catalog/gpus?include=AVAILABILITY&product=POD&count=2&cloud=COMMUNITY');
    await check('GET', `/catalog/gpus/${encodeURIComponent(A6000)}?include=AVAILABILITY&product=POD`);
    await check('GET', '/catalog/gpus/nope');
    const created = await check('POST', '/pods', { name: 'x', image: 'i', gpu: { id: A6000, count: 1 }, env: { A: 'b' } });
    expect(created).toMatchObject({ status: 201, json: { status: 'PROVISIONING', cost: 0.79, env: { A: 'b' } } });
    await check('POST', '/pods', { name: 'x', image: 'i', gpu: { id: 'NVIDIA H100 80GB HBM3', count: 1 } });
    await check('POST', '/pods', { name: 'x', image: 'i', gpu: { id: A6000, count: 1 }, dataCenterIds: ['EU-RO-1'] });
    await check('GET', '/pods');
    await check('GET', `/pods/${created.json.id}`);
    await check('POST', `/pods/${created.json.id}/action`, { action: 'stop' });
    await check('POST', `/pods/${created.json.id}/action`, { action: 'stop' });
    await check('POST', `/pods/${created.json.id}/action`, { action: 'start' });
    await check('POST', `/pods/${created.json.id}/action`, { action: 'terminate' });
    await check('POST', '/pods', { name: 'x' });
    expect(answers.map(([method, path, a]) => [method, path.split('?')[0], a.status])).toEqual([
      ['GET', '/catalog/gpus', 200],
      ['GET', '/catalog/gpus', 200],
      ['GET', `/catalog/gpus/${encodeURIComponent(A6000)}`, 200],
      ['GET', '/catalog/gpus/nope', 404],
      ['POST', '/pods', 201],
      ['POST', '/pods', 400],
      ['POST', '/pods', 400],
      ['GET', '/pods', 200],
      ['GET', `/pods/${created.json.id}`, 200],
      ['POST', `/pods/${created.json.id}/action`, 200],
      ['POST', `/pods/${created.json.id}/action`, 409],
      ['POST', `/pods/${created.json.id}/action`, 200],
      ['POST', `/pods/${created.json.id}/action`, 204],
      ['POST', '/pods', 422],
    ]);
    expect(answers.flatMap(([method, path, answer]) => conforms(method, path, answer).map((e) => `${method} ${path}: ${e}`))).toEqual([]);
    expect(sim.market.livePods()).toHaveLength(0);
  });

  it('a catalog without include has no availability; with it, per-data-center stock and CUDA versions', async () => {
    await start();
    const plain = await call('GET', '/catalog/gpus');
    expect(plain.json.gpus.find((g: any) => g.id === A6000)).toEqual({
      id: A6000,
      name: 'RTX A6000',
      pool: null,
      manufacturer: 'NVIDIA',
      memory: 48,
      secure: true,
      community: true,
      price: { secure: 0.79, community: 0.49 },
      maxCount: { secure: 4, community: 2 },
    });
    const withStock = await call('GET', '/catalog/gpus?include=AVAILABILITY&product=POD&count=1');
    expect(withStock.json.gpus.find((g: any) => g.id === A6000)).toMatchObject({
      availability: 'HIGH',
      dataCenters: [{ id: 'US-KS-2', name: 'US Kansas 2', availability: 'HIGH' }],
      cudaVersions: [
        { version: '12.4', available: true },
        { version: '12.8', available: true },
      ],
    });
  });

  it('routes: an unknown path is 404, a wrong method 405, an operation it does not simulate 501', async () => {
    await start();
    expect(await call('GET', '/nothing')).toMatchObject({ status: 404, json: { detail: 'no such path' } });
    const wrong = await call('PUT', '/pods');
    expect(wrong).toMatchObject({ status: 405 });
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect(await call('GET', '/templates')).toMatchObject({ status: 501, json: { detail: 'listTemplates is not simulated' } });
    expect(sim.rest.violations.map((v) => v.where)).toEqual(['route', 'route']);
  });

  it('plays scripted faults: `rest` problems for v2 only, `status` on either API as that API words it', async () => {
    await start();
    sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance' });
    const graphql = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ gpuTypes { id } }' }) });
    expect(graphql.status).toBe(200);
    expect(await call('POST', '/pods', { body: { name: 'x', image: 'i', gpu: { id: A6000, count: 1 } } })).toMatchObject({
      status: 402,
      json: { title: 'Payment Required', status: 402, detail: 'insufficient balance' },
    });
    sim.fault({ kind: 'graphqlError', message: 'not for v2' });
    sim.fault({ kind: 'status', status: 410, message: 'Gone for good', op: 'listPods' });
    expect(await call('GET', '/pods')).toMatchObject({ status: 410, json: { title: 'Gone', detail: 'Gone for good' } });
    sim.fault({ kind: 'rest', status: 429, retryAfter: 3, errors: ['window: minute'] });
    const limited = await call('GET', '/pods');
    expect(limited).toMatchObject({ status: 429, json: { errors: ['window: minute'] } });
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(sim.market.livePods()).toHaveLength(0);
  });
});
