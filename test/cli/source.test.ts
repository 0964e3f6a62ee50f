import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { testIo } from '../helpers/capture.js';
import { bodyOf } from '../helpers/rest.js';

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

// RUNPOD_API_URL points nowhere: a command that used GraphQL by mistake would fail.
const envFor = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  RUNPOD_API_URL: 'http://127.0.0.1:9/graphql',
  RUNPOD_REST_URL: sim.restUrl,
  RUNPOD_API_KEY: TEST_KEY,
  GPU_WATCHER_CONFIG: '',
  ...extra,
});

describe('--source rest', () => {
  it('gpus reads the v2 catalog', async () => {
    const io = testIo(envFor());
    expect(await runCli(['gpus', '--source', 'rest', '--cloud', 'SECURE', '--json'], io)).toBe(0);
    const printed = JSON.parse(io.out.text());
    expect(printed.gpus.map((g: any) => [g.gpuTypeId, g.stock, g.onDemandPrice, g.minBidPrice, g.availableGpuCounts])).toEqual([
      ['NVIDIA H100 80GB HBM3', 'None', null, null, null],
      ['NVIDIA RTX A5000', 'Low', 0.36, null, null],
      ['NVIDIA RTX A6000', 'High', 0.79, null, null],
    ]);
    expect(sim.requests.map((r) => r.url)).toEqual(['/v2/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=SECURE']);

    const table = testIo(envFor());
    expect(await runCli(['gpus', '--source', 'rest', '--count', '2'], table)).toBe(0);
    expect(table.out.text()).toMatch(/NVIDIA RTX A6000\s+RTX A6000\s+48GB\s+Medium\s+\$0\.49\s+-\s+-/);
  });

  it('v2 needs the key even for the catalog, and says so before calling RunPod', async () => {
    const io = testIo(envFor({ RUNPOD_API_KEY: '' }));
    expect(await runCli(['gpus', '--source', 'rest'], io)).toBe(1);
    expect(io.err.text()).toBe('error: --source rest needs RUNPOD_API_KEY (RunPod REST v2 answers nothing without a key)\n');
    expect(sim.requests).toHaveLength(0);
  });

  it('pods lists the account through v2, the watcher’s own marked with their rule', async () => {
    sim.market.addExistingPod({ id: 'mine1', name: 'trainer', desiredStatus: 'CREATED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: ['GPU_WATCHER_RULE=a6000-trainer', 'GPU_WATCHER_DEPLOY=dep_1', 'HF_TOKEN=hf_abc'] });
    const io = testIo(envFor());
    expect(await runCli(['pods', '--source', 'rest'], io)).toBe(0);
    expect(io.out.text().trim().split('\n')[1]).toMatch(/^mine1\s+trainer\s+PROVISIONING\s+starting\s+-\s+NVIDIA RTX A6000 x1\s+on-demand\s+\$0\.79\s+a6000-trainer\s+-\s+-$/);
    expect(io.out.text()).not.toContain('hf_abc');
  });

  it('pod stop and pod start go through the v2 action; a bid is refused (v2 has no spot)', async () => {
    sim.market.addExistingPod({ id: 'od1', name: 'od', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 2, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    const stop = testIo(envFor());
    expect(await runCli(['pod', 'stop', 'od1', '--source', 'rest'], stop)).toBe(0);
    expect(stop.out.text()).toBe('stopped pod od1 (od): EXITED, $0.00/hr\n');
    const start = testIo(envFor());
    expect(await runCli(['pod', 'start', 'od1', '--source', 'rest'], start)).toBe(0);
    expect(start.out.text()).toBe('started pod od1 (od): STARTING, $1.58/hr\n');
    expect(sim.requestsFor('podAction').map(bodyOf)).toEqual([{ action: 'stop' }, { action: 'start' }]);

    sim.market.stop({ podId: 'od1' });
    const bid = testIo(envFor({ LOG_LEVEL: 'silent' }));
    expect(await runCli(['pod', 'start', 'od1', '--bid', '0.45', '--source', 'rest'], bid)).toBe(1);
    expect(bid.err.text()).toBe('error: bidResumePod: RunPod REST v2 has no spot pods (bidPerGpu)\n');
    const count = testIo(envFor({ LOG_LEVEL: 'silent' }));
    expect(await runCli(['pod', 'start', 'od1', '--gpu-count', '1', '--source', 'rest'], count)).toBe(1);
    expect(count.err.text()).toBe('error: startPod: pod od1 has 2 GPU(s); RunPod REST v2 cannot start it with 1\n');
    expect(sim.requestsFor('podAction')).toHaveLength(2);
  });

  it('api.restUrl in the config is used when RUNPOD_REST_URL is not set; a URL that is not the v2 base is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-source-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, `api: { restUrl: "${sim.restUrl}" }\n`);
    const io = testIo(envFor({ RUNPOD_REST_URL: '' }));
    expect(await runCli(['pods', '--source', 'rest', '-c', file], io)).toBe(0);
    expect(io.out.text()).toBe('no pods\n');
    const wrong = testIo(envFor({ RUNPOD_REST_URL: sim.url }));
    expect(await runCli(['pods', '--source', 'rest'], wrong)).toBe(78);
    expect(wrong.err.text()).toContain('RUNPOD_REST_URL: must be the REST v2 base, ending in /v2');
  });

  it('graphql stays the default; another source is refused by the option itself', async () => {
    const io = testIo(envFor({ RUNPOD_API_URL: sim.url }));
    expect(await runCli(['pods'], io)).toBe(0);
    expect(sim.requests.map((r) => r.url)).toEqual(['/graphql']);
    const bad = testIo(envFor());
    expect(await runCli(['gpus', '--source', 'auto'], bad)).toBe(1);
    expect(bad.err.text()).toContain("argument 'auto' is invalid");
  });
});
