import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testIo } from '../helpers/capture.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

// `gpus` with machine filters: the stock of machines with CUDA 12.8 in EU-RO-1, over both APIs.

const A6000 = 'NVIDIA RTX A6000';
let sim: RunpodSimulator;
beforeEach(async () => {
  const market = testMarket();
  const a6000 = market.gpus?.find((g) => g.id === A6000);
  if (a6000?.secure) {
    Object.assign(a6000.secure, {
      cudaVersions: [
        { version: '12.4', available: true, stock: 'High' },
        { version: '12.8', available: true, stock: 'Low' },
      ],
      dataCenters: [
        { id: 'US-KS-2', stock: 'High' },
        { id: 'EU-RO-1', stock: 'Medium' },
      ],
    });
  }
  sim = await RunpodSimulator.start(market);
});
afterEach(async () => {
  await sim.close();
});

const env = { RUNPOD_API_URL: '', RUNPOD_REST_URL: '', RUNPOD_API_KEY: TEST_KEY, GPU_WATCHER_CONFIG: '' };
const gpus = async (args: string[]) => {
  const io = testIo({ ...env, RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl });
  const code = await runCli(['gpus', '--cloud', 'SECURE', ...args], io);
  return { code, out: io.out.text(), err: io.err.text() };
};
const stockOf = (out: string, id: string): string | undefined => (JSON.parse(out) as { gpus: { gpuTypeId: string; stock: string }[] }).gpus.find((g) => g.gpuTypeId === id)?.stock;

describe.each(['graphql', 'rest'] as const)('gpus with machine filters over %s', (source) => {
  it('answers the stock of the machines asked for, under their label', async () => {
    const whole = await gpus(['--json', '--source', source]);
    expect(stockOf(whole.out, A6000)).toBe('High');
    const cuda = await gpus(['--json', '--source', source, '--cuda', '12.8']);
    expect(stockOf(cuda.out, A6000)).toBe('Low');
    const romania = await gpus(['--json', '--source', source, '--data-center', 'EU-RO-1']);
    expect(stockOf(romania.out, A6000)).toBe('Medium');
    const both = await gpus(['--json', '--source', source, '--cuda', '12.8', '--data-center', 'EU-RO-1']);
    expect(stockOf(both.out, A6000)).toBe('Low');
    expect(JSON.parse(both.out)).toMatchObject({ label: '×1 SECURE · CUDA 12.8 · EU-RO-1', filters: { cudaVersions: ['12.8'], dataCenterId: 'EU-RO-1' } });
    const table = await gpus(['--source', source, '--cuda', '12.8', '--data-center', 'EU-RO-1']);
    expect(table.out.split('\n')[1]).toBe('machines: ×1 SECURE · CUDA 12.8 · EU-RO-1');
  });
});

describe('gpus machine filters', () => {
  it('sends every filter in GraphQL’s lowestPrice input', async () => {
    const { code } = await gpus(['--json', '--source', 'graphql', '--cuda', '12.8,12.4', '--country', 'ro', '--min-vcpu', '16', '--min-memory', '64', '--public-ip', '--min-disk', '100']);
    expect(code).toBe(0);
    expect(JSON.parse(sim.requests.at(-1)?.body ?? '{}').variables.lowest).toEqual({
      gpuCount: 1,
      secureCloud: true,
      allowedCudaVersions: ['12.4', '12.8'],
      countryCode: 'RO',
      minVcpuCount: 16,
      minMemoryInGb: 64,
      supportPublicIp: true,
      minDisk: 100,
    });
  });

  it('finds no stock where the machines have less than asked (simulator: 8 vCPUs per GPU)', async () => {
    const { out } = await gpus(['--json', '--source', 'graphql', '--min-vcpu', '9']);
    expect(stockOf(out, A6000)).toBe('None');
  });

  it('over REST v2, refuses the filters v2 cannot apply, sending nothing', async () => {
    const { code, err } = await gpus(['--source', 'rest', '--min-vcpu', '16']);
    expect(code).toBe(1);
    expect(err).toContain('RunPod REST v2 cannot filter stock by vCPUs');
    expect(sim.requests).toHaveLength(0);
  });

  it('refuses a malformed CUDA version or country with one line', async () => {
    expect(await gpus(['--cuda', '12'])).toMatchObject({ code: 1, err: 'error: --cuda: "12" is not a CUDA version such as 12.8\n' });
    expect(await gpus(['--country', 'ROU'])).toMatchObject({ code: 1, err: 'error: --country must be a two-letter country code such as RO, got "ROU"\n' });
  });
});
