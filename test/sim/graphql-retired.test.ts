import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { RunpodSimulator } from '../../src/sim/server.js';
import { loadScenario, scenarioSchema } from '../../src/sim/scenario.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const SUNSET = fileURLToPath(new URL('../../scenarios/graphql-sunset.yaml', import.meta.url));
const RETIRED = { errors: [{ message: 'This API has been retired. Use the RunPod REST API v2 (https://api.runpod.io/v2) instead.', extensions: { code: 'GONE' } }] };

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function send(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: init.method ?? 'POST', headers: { 'content-type': 'application/json', ...init.headers }, ...(init.body === undefined ? {} : { body: init.body }) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const query = (text: string) => JSON.stringify({ query: text });

describe('a scenario step that retires GraphQL', () => {
  it('answers every GraphQL request 410 Gone from that step on, whatever it holds, and records it', async () => {
    sim = await RunpodSimulator.start(testMarket({ loop: true, steps: [{ note: 'sunset', retire: 'graphql' }, { set: [{ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'Low' }] }] }));
    const auth = { authorization: `Bearer ${TEST_KEY}` };
    expect((await send(sim.url, { body: query('{ gpuTypes { id } }') })).status).toBe(200);
    sim.fault({ kind: 'status', status: 502 });

    expect(sim.advance()).toBe('sunset');
    const requests = [
      { body: query('{ gpuTypes { id } }') },
      { body: query('mutation { podStop(input: {podId: "x"}) { id } }'), headers: auth },
      { body: query('{ myself { id } }'), headers: { authorization: 'Bearer rpa_wrong' } },
      { body: query('{ nope }') },
      { body: 'not json' },
      { method: 'GET' },
    ];
    for (const request of requests) expect(await send(sim.url, request)).toEqual({ status: 410, body: RETIRED });
    expect(sim.requests.slice(1).map((r) => [r.rootFields, r.status])).toEqual([
      [['gpuTypes'], 410],
      [['podStop'], 410],
      [['myself'], 410],
      [['nope'], 410],
      [[], 410],
      [[], 410],
    ]);
    // Other paths are not GraphQL: still 404.
    expect((await send(sim.url.replace('/graphql', '/other'), { method: 'GET' })).status).toBe(404);

    // A looping scenario does not bring it back.
    sim.advance();
    sim.advance();
    expect((await send(sim.url, { body: query('{ gpuTypes { id } }') })).status).toBe(410);
  });

  it('retires only GraphQL: any other value is a scenario error', () => {
    const result = scenarioSchema.safeParse({ steps: [{ retire: 'rest' }] });
    expect(result.success ? [] : result.error.issues.map((i) => i.path.join('.'))).toEqual(['steps.0.retire']);
  });

  it('a daemon on GraphQL reads it as retired and tells api.retired once (scenarios/graphql-sunset.yaml)', async () => {
    const scenario = await loadScenario(SUNSET);
    expect(scenario.steps.map((s) => s.retire)).toEqual(['graphql']);
    sim = await RunpodSimulator.start({ ...scenario, stepEvery: undefined, apiKey: TEST_KEY });
    const d = daemonFor(
      sim,
      // Pinned to GraphQL: the point is the classification and api.retired told once (auto switches instead).
      `api: { source: graphql }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
rules:
  - { name: trainer, cloud: SECURE, maxPods: 1, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }`,
    );
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);

    expect(sim.advance()).toMatch(/retires its GraphQL API/);
    for (let poll = 0; poll < 3; poll++) {
      d.clock.advance(30_000);
      expect(await d.watcher.tick()).toMatchObject({ outcome: 'failed', errorKind: 'retired' });
    }
    expect(d.watcher.stats.apiErrors.retired).toBe(3);
    const told = d.events().filter((e) => e.type === 'api.retired');
    expect(told).toHaveLength(1);
    expect(told[0]?.summary).toContain('HTTP 410 Gone: RunPod has retired this API (This API has been retired. Use the RunPod REST API v2');
    // Per cycle after the sunset, one request (the snapshot with the pod list in it), once (410 is
    // never retried); no mutation was sent again.
    const gone = sim.requests.filter((r) => r.status === 410).map((r) => [...new Set(r.rootFields)].join(' '));
    expect(gone).toEqual(['gpuTypes myself', 'gpuTypes myself', 'gpuTypes myself']);
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
    expect(d.logs.text()).not.toContain(TEST_KEY);
  });
});
