import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testIo } from '../helpers/capture.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

async function configFile(yaml: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'gw-check-')), 'watcher.yaml');
  await writeFile(file, yaml);
  return file;
}

const config = (gpu: string, host: string): string => `notifiers: { ops: { type: webhook, url: "http://${host}:9/hook" } }
watch: [{ gpu: NVIDIA RTX A5000 }]
rules:
  - { name: trainer, candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 5 }, { gpu: ${gpu}, maxPrice: 1 }], pod: { imageName: i }, notify: [ops] }
`;

describe('gpu-watcher check', () => {
  it('names the key an unknown config key was meant to be, at any depth', async () => {
    const file = await configFile('poll: { schedul: "*/30 * * * * *" }\nrules: [{ name: r, candidates: [{ gpu: A, maxPirce: 1, bid: 1 }], pod: { imageName: i, evn: {} } }]\nbudgett: { maxPods: 1 }\n');
    const io = testIo();
    expect(await runCli(['check', '-c', file], io)).toBe(78);
    expect(io.err.text().split('\n')).toEqual([
      'poll.schedul: unknown key (did you mean "schedule"?)',
      'rules[0].candidates[0].maxPirce: unknown key (did you mean "maxPrice"?)',
      'rules[0].pod.evn: unknown key (did you mean "env"?)',
      'budgett: unknown key (did you mean "budget"?)',
      'config invalid: 4 problem(s)',
      '',
    ]);
  });

  it('flags placeholders left from an example, naming only the placeholder, and still passes offline', async () => {
    const file = await configFile(`notifiers: { ops: { type: webhook, url: "https://hooks.example.com/gpu", secret: "your_secret_here" } }\n`);
    const io = testIo({ RUNPOD_API_KEY: 'rpa_your_key_here' });
    expect(await runCli(['check', '-c', file], io)).toBe(0);
    expect(io.err.text().split('\n')).toEqual([
      'warning: notifiers.ops.url: "example.com" looks like a placeholder from an example: put the real value in',
      'warning: notifiers.ops.secret: "your_secret_here" looks like a placeholder from an example: put the real value in',
      'warning: RUNPOD_API_KEY: looks like a placeholder from an example, not a RunPod key',
      '',
    ]);
  });

  it('--online: the key works, every GPU id exists, every notifier host resolves: exit 0', async () => {
    const file = await configFile(config('NVIDIA RTX A6000', 'localhost'));
    const io = testIo({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY });
    expect(await runCli(['check', '--online', '-c', file], io)).toBe(0);
    expect(io.out.text()).toContain('online: RunPod accepts RUNPOD_API_KEY (0 pod(s) on the account)\n');
    expect(io.out.text()).toContain("online: every GPU id is in RunPod's catalog (3 id(s))\n");
    expect(io.out.text()).toContain('online: notifiers.ops.url: localhost resolves\n');
    expect(io.err.text()).toBe('');
    expect(io.out.text()).not.toContain(TEST_KEY);
  });

  it('--online: a refused key, a GPU id RunPod does not have (with the nearest), a host that does not resolve: each one line, exit 1', async () => {
    const file = await configFile(config('NVIDIA RTX A6001', 'hooks.gpu-watcher.invalid'));
    const wrongKey = 'rpa_WRONGKEY0123456789abcdefSECRET';
    const io = testIo({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: wrongKey });
    expect(await runCli(['check', '--online', '-c', file], io)).toBe(1);
    const lines = io.err.text().split('\n');
    expect(lines[0]).toMatch(/^RUNPOD_API_KEY: RunPod refuses it: /);
    expect(lines.slice(1)).toEqual([
      'rules[0].candidates[1].gpu: "NVIDIA RTX A6001" is not in RunPod\'s catalog (did you mean "NVIDIA RTX A6000"?)',
      expect.stringMatching(/^notifiers\.ops\.url: host hooks\.gpu-watcher\.invalid does not resolve \(E[A-Z]+\)$/),
      'error: check --online: 3 problem(s)',
      '',
    ]);
    expect(io.out.text() + io.err.text()).not.toContain(wrongKey);
  });
});
