import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunpodRestClient } from '../../../src/runpod/rest/client.js';
import type { OnDemandDeploy, Pod } from '../../../src/runpod/types.js';
import { isLive } from '../../../src/rules/context.js';
import { RunpodSimulator } from '../../../src/sim/server.js';
import type { SimPod } from '../../../src/sim/pod.js';
import { capturedLogger } from '../../helpers/capture.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../../helpers/market.js';
import { bodyOf, restClientFor } from '../../helpers/rest.js';
import { runpodError } from '../../helpers/runpod-error.js';

const A6000 = 'NVIDIA RTX A6000';
const spec = { name: 'trainer', imageName: 'runpod/pytorch', env: { GPU_WATCHER_RULE: 'trainer', GPU_WATCHER_DEPLOY: 'dep_1', HF_TOKEN: 'hf_abc' } };
const deploy: OnDemandDeploy = { spec, gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE', deployCost: 0.8 };

let sim: RunpodSimulator;
let client: RunpodRestClient;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  client = restClientFor(sim, { clock: new FakeClock() });
});
afterEach(async () => {
  await sim.close();
});

const existing = (fields: Partial<SimPod> = {}): SimPod =>
  sim.market.addExistingPod({ name: 'p', desiredStatus: 'RUNNING', imageName: 'img', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'RESERVED', env: [], ...fields });


describe('pods over REST v2', () => {
  it('lists pods: v2 status and cost, the GPU, the cloud, and the watcher’s markers (and no other env)', async () => {
    existing({ id: 'mine', env: ['GPU_WATCHER_RULE=trainer', 'GPU_WATCHER_DEPLOY=dep_9', 'HF_TOKEN=hf_abc'] });
    existing({ id: 'stopped', desiredStatus: 'EXITED', gpuCount: 2, cloud: 'COMMUNITY' });
    const pods = await client.listPods();
    expect(pods).toEqual<Pod[]>([
      { id: 'mine', name: 'p', desiredStatus: 'RUNNING', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, gpuDisplayName: null, imageName: 'img', cloud: 'SECURE', kind: 'on-demand', watcher: { rule: 'trainer', deployId: 'dep_9' }, runtime: { uptimeSeconds: expect.any(Number), ports: [], gpuUtilPercent: [0] } },
      // v2 bills nothing for a stopped pod.
      { id: 'stopped', name: 'p', desiredStatus: 'EXITED', costPerHr: 0, gpuCount: 2, gpuTypeId: A6000, gpuDisplayName: null, imageName: 'img', cloud: 'COMMUNITY', kind: 'on-demand', watcher: null, runtime: null },
    ]);
    expect(JSON.stringify(pods)).not.toContain('hf_abc');
  });

  it('PROVISIONING and STARTING are live, like CREATED; ERROR and EXITED are not', async () => {
    existing({ id: 'a', desiredStatus: 'CREATED' });
    existing({ id: 'b', desiredStatus: 'RESTARTING' });
    existing({ id: 'c', desiredStatus: 'DEAD' });
    existing({ id: 'd', desiredStatus: 'EXITED' });
    const pods = await client.listPods();
    expect(pods.map((p) => [p.desiredStatus, isLive(p)])).toEqual([
      ['PROVISIONING', true],
      ['STARTING', true],
      ['ERROR', false],
      ['EXITED', false],
    ]);
  });

  it('drops a malformed pod from the list, keeping the rest', async () => {
    const { logger, logs } = capturedLogger();
    client = restClientFor(sim, { logger });
    sim.fault({ kind: 'raw', status: 200, body: JSON.stringify({ pods: [{ id: 'x' }, { id: 'ok', name: 'n', status: 'RUNNING', cost: 1 }] }), op: 'listPods' });
    expect((await client.listPods()).map((p) => p.id)).toEqual(['ok']);
    expect(logs.text()).toContain('dropped a malformed pod from the pod list');
  });

  it('gets one pod; an unknown one is null (v2’s 404)', async () => {
    existing({ id: 'one' });
    expect(await client.getPod('one')).toMatchObject({ id: 'one', desiredStatus: 'RUNNING' });
    expect(await client.getPod('none')).toBeNull();
    expect(sim.requestsFor('getPod').map((r) => [r.url, r.status])).toEqual([
      ['/v2/pods/one', 200],
      ['/v2/pods/none', 404],
    ]);
  });
});

describe('deploy over REST v2', () => {
  it('creates with gpu.count always, the env as a map with the markers, one CUDA constraint, and no deployCost', async () => {
    const pod = await client.deployOnDemand({
      ...deploy,
      spec: { ...spec, ports: '8888/http, 22/tcp', dockerArgs: 'sleep infinity', containerDiskInGb: 40, volumeInGb: 20, volumeMountPath: '/data', allowedCudaVersions: ['12.4', '12.8'], dataCenterId: 'US-KS-2', startSsh: true },
    });
    expect(bodyOf(sim.requestsFor('createPod')[0])).toEqual({
      name: 'trainer',
      cloud: 'SECURE',
      gpu: { id: A6000, count: 1, allowedCudaVersions: ['12.4', '12.8'] },
      image: 'runpod/pytorch',
      args: 'sleep infinity',
      disk: 40,
      ports: ['8888/http', '22/tcp'],
      env: { GPU_WATCHER_RULE: 'trainer', GPU_WATCHER_DEPLOY: 'dep_1', HF_TOKEN: 'hf_abc' },
      dataCenterIds: ['US-KS-2'],
      startSsh: true,
      mounts: { persistent: { size: 20, path: '/data' } },
    });
    // v2 answers 201 while the pod is still provisioning: live, and marked as the watcher's.
    expect(pod).toMatchObject({ desiredStatus: 'PROVISIONING', costPerHr: 0.79, gpuCount: 1, cloud: 'SECURE', watcher: { rule: 'trainer', deployId: 'dep_1' } });
    expect(isLive(pod)).toBe(true);
    expect(sim.market.livePods().map((p) => [p.id, p.env])).toEqual([[pod.id, ['GPU_WATCHER_RULE=trainer', 'GPU_WATCHER_DEPLOY=dep_1', 'HF_TOKEN=hf_abc']]]);
  });

  it('a template instead of an image, and a network volume', async () => {
    await client.deployOnDemand({ ...deploy, gpuCount: 2, spec: { templateId: 'tpl_1', networkVolumeId: 'vol_1' } });
    expect(bodyOf(sim.requestsFor('createPod')[0])).toEqual({
      name: A6000,
      cloud: 'SECURE',
      gpu: { id: A6000, count: 2 },
      templateId: 'tpl_1',
      mounts: { network: [{ volumeId: 'vol_1', path: '/workspace' }] },
    });
  });

  it('the pod shows in the GraphQL pod list too: one market, one account', async () => {
    const pod = await client.deployOnDemand(deploy);
    const res = await fetch(sim.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}` },
      body: JSON.stringify({ query: '{ myself { pods { id env } } }' }),
    });
    const json = (await res.json()) as { data: { myself: { pods: { id: string; env: string[] }[] } } };
    expect(json.data.myself.pods).toEqual([{ id: pod.id, env: ['GPU_WATCHER_RULE=trainer', 'GPU_WATCHER_DEPLOY=dep_1', 'HF_TOKEN=hf_abc'] }]);
  });

  it('ALL deploys on the cloud whose offer the last snapshot showed; SECURE before any snapshot', async () => {
    await client.deployOnDemand({ ...deploy, cloud: 'ALL' });
    await client.snapshot([{ gpuTypeId: A6000, gpuCount: 1, cloud: 'ALL' }]);
    await client.deployOnDemand({ ...deploy, cloud: 'ALL' });
    sim.market.set({ gpu: A6000, cloud: 'COMMUNITY', stock: 'None' });
    await client.snapshot([{ gpuTypeId: A6000, gpuCount: 1, cloud: 'ALL' }]);
    await client.deployOnDemand({ ...deploy, cloud: 'ALL' });
    expect(sim.requestsFor('createPod').map((r) => bodyOf(r).cloud)).toEqual(['SECURE', 'COMMUNITY', 'SECURE']);
  });

  it.each([
    ['minVcpuCount', { minVcpuCount: 8 }],
    ['minMemoryInGb', { minMemoryInGb: 64 }],
    ['supportPublicIp', { supportPublicIp: true }],
    ['volumeInGb and pod.networkVolumeId', { volumeInGb: 20, networkVolumeId: 'vol_1' }],
  ])('refuses pod.%s before sending: v2 cannot do it', async (field, extra) => {
    const error = await runpodError(client.deployOnDemand({ ...deploy, spec: { ...spec, ...extra } }));
    expect(error).toMatchObject({ kind: 'invalid_request', operation: 'createPod', status: undefined, mayHaveReachedRunpod: false });
    expect(error.message).toContain(`pod.${field} cannot be sent to RunPod REST v2`);
    expect(sim.requests).toHaveLength(0);
  });
});

describe('stop and start over REST v2', () => {
  it('stops a running pod and starts it again (v2 answers the start as STARTING)', async () => {
    existing({ id: 'od' });
    expect(await client.stopPod('od')).toMatchObject({ id: 'od', desiredStatus: 'EXITED', costPerHr: 0 });
    expect(await client.resumePod({ podId: 'od', gpuCount: 1 })).toMatchObject({ id: 'od', desiredStatus: 'STARTING', costPerHr: 0.79 });
    expect(sim.requestsFor('podAction').map((r) => [r.url, bodyOf(r)])).toEqual([
      ['/v2/pods/od/action', { action: 'stop' }],
      ['/v2/pods/od/action', { action: 'start' }],
    ]);
    expect(sim.market.pods.get('od')?.desiredStatus).toBe('RUNNING');
  });

  it('refuses, before sending the start, a resume with another GPU count (v2 cannot change it) or of an unknown pod', async () => {
    existing({ id: 'two', desiredStatus: 'EXITED', gpuCount: 2 });
    const error = await runpodError(client.resumePod({ podId: 'two', gpuCount: 1 }));
    expect(error).toMatchObject({ kind: 'invalid_request', operation: 'startPod', mayHaveReachedRunpod: false, message: 'startPod: pod two has 2 GPU(s); RunPod REST v2 cannot start it with 1' });
    expect(await runpodError(client.resumePod({ podId: 'gone', gpuCount: 1 }))).toMatchObject({ kind: 'invalid_request', message: 'startPod: RunPod knows no pod "gone"' });
    expect(sim.requestsFor('podAction')).toHaveLength(0);
  });

  it('a start RunPod refuses for want of GPUs on the host is capacity', async () => {
    existing({ id: 'od', desiredStatus: 'EXITED' });
    sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'None' });
    expect(await runpodError(client.resumePod({ podId: 'od', gpuCount: 1 }))).toMatchObject({ kind: 'capacity', status: 400, operation: 'startPod' });
  });
});

describe('spot over REST v2', () => {
  it('v2 has none: spot is unavailable from the start, and spot calls fail as unsupported naming the field, unsent', async () => {
    expect(client.spot.available).toBe(false);
    const deploySpot = await runpodError(client.deploySpot({ ...deploy, bidPerGpu: 0.4 }));
    expect(deploySpot).toMatchObject({ kind: 'unsupported', spotField: 'bidPerGpu', mayHaveReachedRunpod: false, message: 'deploySpot: RunPod REST v2 has no spot pods (bidPerGpu)' });
    expect(await runpodError(client.bidResumePod({ podId: 'x', gpuCount: 1, bidPerGpu: 0.4 }))).toMatchObject({ kind: 'unsupported', spotField: 'bidPerGpu' });
    expect(sim.requests).toHaveLength(0);
  });
});
