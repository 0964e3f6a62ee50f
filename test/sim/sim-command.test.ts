import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/sim/scenario.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { waitUntil } from '../helpers/wait.js';

// `gpu-watcher sim` as a user starts it: a real process, talked to over HTTP.

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
});

/** Starts `gpu-watcher sim ...args` and returns it with the URL it prints. */
async function startSim(args: string[]): Promise<{ child: ChildProcess & { output: () => string }; url: string }> {
  const child = spawnTs('src/cli.ts', ['sim', ...args]);
  children.push(child);
  const listening = () => /listening at (\S+)/.exec(child.output())?.[1];
  await until(() => listening() !== undefined || child.exitCode !== null, 30_000);
  const url = listening();
  if (url === undefined) throw new Error(`sim did not start: ${child.output()}`);
  return { child, url };
}

async function post(url: string, query: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return { status: res.status, json: await res.json() };
}

const MARKET = '{ gpuTypes { id securePrice lowestPrice(input: {gpuCount: 1}) { stockStatus uninterruptablePrice availableGpuCounts } } }';
const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('gpu-watcher sim', () => {
  it('bare: a steady market with no steps and no faults, introspection refused; SIGTERM stops it', async () => {
    const steady = await loadScenario(fileURLToPath(new URL('../../scenarios/steady.yaml', import.meta.url)));
    expect([steady.steps.length, steady.stepEvery, steady.gpus.length >= 5]).toEqual([0, undefined, true]);

    const { child, url } = await startSim([]);
    expect(child.output()).toContain(`(${steady.gpus.length} GPU types, a steady market; accepts any RUNPOD_API_KEY, as a Bearer header or ?api_key=)`);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await post(url, MARKET));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).toBe(1);
    expect(answers[0]?.json.data.gpuTypes).toHaveLength(steady.gpus.length);
    expect((await post(url, INTROSPECTION)).status).toBe(400);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('--introspection answers introspection; --scenario serves that script (the demo market, on its own steps)', async () => {
    const { child, url } = await startSim(['--introspection', '--scenario', 'scenarios/demo.yaml']);
    expect(child.output()).toMatch(/\(5 GPU types, 8 steps \(one every 10s, looping\); /);
    expect(await post(url, INTROSPECTION)).toEqual({ status: 200, json: { data: { __schema: { queryType: { name: 'Query' } } } } });
  });

  it('a scenario that retires GraphQL: 410 from that step on, and `gpu-watcher gpus` says RunPod retired the API', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-sim-cmd-'));
    const file = join(dir, 'sunset.yaml');
    await writeFile(file, ['stepEvery: 200', 'gpus: [{ id: G1, secure: { stock: High, price: 1.0 } }]', 'steps:', '  - { note: sunset, retire: graphql }'].join('\n'));
    const { url } = await startSim(['--scenario', file]);
    await waitUntil(async () => (await post(url, MARKET)).status === 410, { timeoutMs: 30_000, what: 'GraphQL retired by the scenario step' });

    const gpus = spawnTs('src/cli.ts', ['gpus'], { RUNPOD_API_URL: url, GPU_WATCHER_CONFIG: '' });
    children.push(gpus);
    expect(await exited(gpus)).toBe(1);
    expect(gpus.output()).toContain('error: catalog: HTTP 410 Gone: RunPod has retired this API (This API has been retired.');
  });
});
