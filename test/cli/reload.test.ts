import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const H100 = 'NVIDIA H100 80GB HBM3';
const A6000 = 'NVIDIA RTX A6000';

let sim: RunpodSimulator | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await sim?.close();
});

/** A rule in YAML: on-demand only, one pod at a time. */
const rule = (name: string, gpu: string): string => `  - { name: ${name}, cloud: SECURE, spot: never, candidates: [{ gpu: ${gpu}, maxPrice: 5.00 }], pod: { imageName: runpod/pytorch } }\n`;

const lines = (child: { output: () => string }, text: string): string[] => child.output().split('\n').filter((l) => l.includes(text));
/** Deploys the simulator received for a rule (the pod is named after it, and carries it in its env). */
const deploysBy = (s: RunpodSimulator, name: string): number => s.requestsFor('podFindAndDeployOnDemand').filter((r) => r.body.includes(name)).length;

describe('reloading the config on SIGHUP, in a real process', () => {
  it('applies an added rule at the next cycle; refuses a broken file with every problem and keeps running the old rules', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const dir = await mkdtemp(join(tmpdir(), 'gw-reload-'));
    const file = join(dir, 'watcher.yaml');
    const head = `poll: { schedule: "*/1 * * * * *", timeout: 10s }\nstore: { path: ${join(dir, 'w.db')} }\nrules:\n`;
    writeFileSync(file, head + rule('h100', H100));
    const child = spawnTs('src/cli.ts', ['run', '-c', file], { RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' });
    children.push(child);
    await until(() => lines(child, '"msg":"poll:').length >= 1, 30_000);
    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(0);

    // A rule added: the next cycle deploys it; the old rule goes on.
    writeFileSync(file, head + rule('h100', H100) + rule('night', A6000));
    child.kill('SIGHUP');
    await until(() => lines(child, 'config reloaded: rules: +night').length === 1, 15_000);
    await until(() => deploysBy(sim!, 'night') === 1, 15_000);

    // A broken file: refused, every problem named, the running rules keep going.
    writeFileSync(file, `${head.replace('*/1 * * * * *', 'nope')}  - { name: bad, candidates: [{ gpu: ${A6000}, maxPirce: 1 }], pod: { imageName: i } }\n`);
    child.kill('SIGHUP');
    await until(() => lines(child, 'config reload refused').length === 1, 15_000);
    const refusal = lines(child, 'config reload refused')[0]!;
    expect(refusal).toContain('rules[0].candidates[0].maxPirce: unknown key');
    expect(refusal).toContain('poll.schedule: is not a valid cron expression');
    // The night rule's pod goes away: the old config, still running, deploys it again.
    for (const pod of sim.market.livePods()) sim.market.terminate({ podId: pod.id });
    await until(() => deploysBy(sim!, 'night') === 2, 15_000);
    expect(child.exitCode).toBeNull();

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(child.output()).not.toContain(TEST_KEY);
  }, 90_000);
});
