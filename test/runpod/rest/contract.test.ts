import { execFile } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../../src/sim/server.js';
import { REFUSALS } from '../../../src/sim/market.js';
import { TEST_KEY, testMarket } from '../../helpers/market.js';
import { restClientFor } from '../../helpers/rest.js';

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

const A6000 = 'NVIDIA RTX A6000';
const auth = { authorization: `Bearer ${TEST_KEY}` };

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.restUrl}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

describe('every request the REST v2 client sends keeps RunPod’s OpenAPI contract', () => {
  it('a run of every operation, with every pod field v2 takes, breaks none of it', async () => {
    const client = restClientFor(sim);
    await client.snapshot([
      { gpuTypeId: A6000, gpuCount: 1, cloud: 'ALL' },
      { gpuTypeId: A6000, gpuCount: 2, cloud: 'SECURE' },
      { gpuTypeId: 'NVIDIA RTX A5000', gpuCount: 4, cloud: 'COMMUNITY' },
    ]);
    await client.catalog({ gpuCount: 1, cloud: 'ALL' });
    const spec = {
      name: 'trainer',
      imageName: 'runpod/pytorch',
      dockerArgs: 'sleep infinity',
      containerDiskInGb: 40,
      volumeInGb: 20,
      volumeMountPath: '/data',
      ports: '8888/http,22/tcp',
      env: { GPU_WATCHER_RULE: 'trainer', GPU_WATCHER_DEPLOY: 'dep_1', HF_TOKEN: 'hf_x' },
      allowedCudaVersions: ['12.8'],
      dataCenterId: 'US-KS-2',
      startSsh: true,
    };
    const pod = await client.deployOnDemand({ spec, gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE', deployCost: 1 });
    await client.deployOnDemand({ spec: { templateId: 'tpl', networkVolumeId: 'vol_1' }, gpuTypeId: A6000, gpuCount: 1, cloud: 'ALL', deployCost: 2 });
    await client.listPods();
    await client.getPod(pod.id);
    await client.getPod('no-such-pod');
    await client.stopPod(pod.id);
    await client.resumePod({ podId: pod.id, gpuCount: 1 });

    expect(new Set(sim.requests.map((r) => r.operationName))).toEqual(new Set(['listGpuTypes', 'createPod', 'listPods', 'getPod', 'podAction']));
    expect(sim.requests.every((r) => r.status > 0 && r.status < 500)).toBe(true);
    expect(sim.rest.violations).toEqual([]);
  });

  it('the simulator’s check catches a bad request sent by hand, naming what is wrong', async () => {
    const bogus = await send('POST', '/pods', { name: 'x', image: 'i', gpu: { id: A6000, count: 1, vram: 48 }, bogus: true });
    expect(bogus.status).toBe(422);
    expect(bogus.json).toMatchObject({ title: 'Unprocessable Entity', status: 422, errors: ["$.gpu: additional property 'vram' not allowed", "$: additional property 'bogus' not allowed"] });
    const noImage = await send('POST', '/pods', { name: 'x', gpu: { id: A6000, count: 1 } });
    expect(noImage.json.errors).toEqual(["$: must have required property 'image'"]);
    const badCount = await send('GET', '/catalog/gpus?include=AVAILABILITY&product=POD&count=0&cloud=ALL&page=2');
    expect(badCount.status).toBe(400);
    expect(badCount.json.errors).toEqual(['query.page: unknown query parameter', 'query.count: must be >= 1', 'query.cloud: must be equal to one of the allowed values']);
    const notJson = await send('POST', '/pods/x/action', '{"action":');
    expect(notJson.status).toBe(400);
    expect(sim.rest.violations.map((v) => [v.operation, v.where])).toEqual([
      ['createPod', 'body'],
      ['createPod', 'body'],
      ['listGpuTypes', 'parameters'],
      ['podAction', 'body'],
    ]);
  });

  it('and RunPod’s handler rules the spec cannot state: product with include, gpu.count on create, one CUDA constraint', async () => {
    expect((await send('GET', '/catalog/gpus?include=AVAILABILITY')).json.detail).toBe('product is required with include=AVAILABILITY');
    expect((await send('GET', '/catalog/gpus?product=POD&count=2')).json.detail).toBe('product, count: valid only with include=AVAILABILITY');
    // Without a count RunPod refuses every create with its misleading capacity text.
    const noCount = await send('POST', '/pods', { name: 'x', image: 'i', gpu: { id: A6000 } });
    expect(noCount).toMatchObject({ status: 400, json: { detail: REFUSALS.capacity } });
    const both = await send('POST', '/pods', { name: 'x', image: 'i', gpu: { id: A6000, count: 1, allowedCudaVersions: ['12.8'], minCudaVersion: '12.4' } });
    expect(both).toMatchObject({ status: 400, json: { detail: 'allowedCudaVersions and minCudaVersion are mutually exclusive' } });
    expect(sim.rest.violations.map((v) => [v.where, v.errors])).toEqual([
      ['rule', ['product is required with include=AVAILABILITY']],
      ['rule', ['product, count: valid only with include=AVAILABILITY']],
      ['rule', ['gpu.count is missing: RunPod refuses every create without it']],
      ['rule', ['allowedCudaVersions and minCudaVersion are mutually exclusive']],
    ]);
    expect(sim.market.livePods()).toHaveLength(0);
  });
});

describe('the generated types', () => {
  it('are what openapi-typescript makes of schema/runpod-v2.openapi.json today (npm run gen:runpod-v2)', async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((done) => {
      execFile('npm', ['run', '--silent', 'gen:runpod-v2', '--', '--check'], { timeout: 60_000 }, (error, stdout, stderr) => {
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: `${stdout}${stderr}` });
      });
    });
    expect(code, output).toBe(0);
  }, 60_000);
});
