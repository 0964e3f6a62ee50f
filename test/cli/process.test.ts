import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { spawnTs } from '../helpers/child.js';

/** Runs the real CLI in a child process (through tsx) and collects what it printed. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnTs('src/cli.ts', args, env, cwd);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
});

describe('the gpu-watcher process', () => {
  it('exits 78 on a bad config, every problem on its own line, no stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-proc-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'poll: { schedule: nope }\nrules: [{ name: r, candidates: [{ gpu: X }], pod: { imageName: i } }]\n');
    const { code, stdout, stderr } = await cli(['check', '-c', file]);
    expect(code).toBe(78);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toEqual([
      'poll.schedule: is not a valid cron expression (seconds field allowed, e.g. "*/30 * * * * *")',
      'rules[0].candidates[0]: needs maxPrice, bid, or both',
      'config invalid: 2 problem(s)',
      '',
    ]);
  });

  it('reads GPU_WATCHER_CONFIG from .env in the working directory; the environment wins over .env', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-env-'));
    await writeFile(join(dir, 'from-env-file.yaml'), 'watch: [{ gpu: FROM_DOTENV }]\n');
    await writeFile(join(dir, 'from-environment.yaml'), 'watch: [{ gpu: FROM_ENVIRONMENT }]\n');
    await writeFile(join(dir, '.env'), 'GPU_WATCHER_CONFIG=from-env-file.yaml\n');
    const fromFile = await cli(['check'], {}, dir);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('FROM_DOTENV x1 ALL (watch)');
    const fromEnv = await cli(['check'], { GPU_WATCHER_CONFIG: 'from-environment.yaml' }, dir);
    expect(fromEnv.stdout).toContain('FROM_ENVIRONMENT x1 ALL (watch)');
  });

  it('never prints or logs the API key, even at debug level through retries and failures', async () => {
    sim = await RunpodSimulator.start(testMarket());
    sim.fault({ kind: 'status', status: 502, times: 2 });
    sim.fault({ kind: 'graphqlError', message: 'Something went wrong. Please try again later or contact support.', op: 'myself', times: 5 });
    const env = { RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'debug' };
    const gpus = await cli(['gpus'], env);
    const pods = await cli(['pods', '--json'], env);
    expect(gpus.code).toBe(0);
    expect(pods.code).toBe(1);
    expect(gpus.stderr + pods.stderr).toContain('retrying');
    for (const text of [gpus.stdout, gpus.stderr, pods.stdout, pods.stderr]) expect(text).not.toContain(TEST_KEY);
    for (const request of sim.requests) expect(request.url).not.toContain(TEST_KEY);
  });
});
