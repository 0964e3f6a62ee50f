import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { openStore } from '../../src/store/store.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { testIo } from '../helpers/capture.js';
import { waitUntil } from '../helpers/wait.js';
import { exited, spawnTs } from '../helpers/child.js';

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

const envFor = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ RUNPOD_API_URL: sim.url, GPU_WATCHER_CONFIG: '', ...extra });

describe('gpus', () => {
  it('--json prints the simulator market', async () => {
    const io = testIo(envFor());
    expect(await runCli(['gpus', '--json', '--cloud', 'SECURE'], io)).toBe(0);
    const printed = JSON.parse(io.out.text());
    expect(printed.gpuCount).toBe(1);
    expect(printed.gpus.map((g: any) => [g.gpuTypeId, g.stock, g.onDemandPrice, g.minBidPrice, g.availableGpuCounts])).toEqual([
      ['NVIDIA H100 80GB HBM3', 'None', null, null, []],
      ['NVIDIA RTX A5000', 'Low', 0.36, 0.2, [1]],
      ['NVIDIA RTX A6000', 'High', 0.79, 0.41, [1, 2, 4]],
    ]);
    expect(sim.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('prints a table by default, priced for --count GPUs', async () => {
    const io = testIo(envFor());
    expect(await runCli(['gpus', '--count', '2'], io)).toBe(0);
    expect(io.out.text().split('\n')[0]).toBe('GPU types on both clouds (the lower price of SECURE and COMMUNITY), priced for 2 GPUs per pod (--cloud, --count):');
    expect(io.out.text().split('\n')[1]).toMatch(/^GPU TYPE\s+NAME\s+VRAM\s+STOCK\s+ON-DEMAND \$\/GPU\/HR\s+MIN BID \$\/GPU\/HR\s+COUNTS$/);
    expect(io.out.text()).toMatch(/NVIDIA RTX A6000\s+RTX A6000\s+48GB\s+Medium\s+\$0\.49\s+\$0\.25\s+1,2/);
    expect(JSON.parse(sim.requests[0]?.body ?? '{}').variables).toEqual({ lowest: { gpuCount: 2 } });
  });

  it('refuses a bad --count and --cloud with one line, exit 1', async () => {
    const io = testIo(envFor());
    expect(await runCli(['gpus', '--count', 'two'], io)).toBe(1);
    expect(io.err.text()).toBe('error: --count must be a whole number of at least 1, got "two"\n');
    const io2 = testIo(envFor());
    expect(await runCli(['gpus', '--cloud', 'MOON'], io2)).toBe(1);
    expect(io2.err.text()).toContain("argument 'MOON' is invalid");
    expect(sim.requests).toHaveLength(0);
  });

  it('an unreachable RunPod is one clear line, exit 1', async () => {
    await sim.close();
    const io = testIo(envFor({ LOG_LEVEL: 'silent' }));
    expect(await runCli(['gpus'], io)).toBe(1);
    expect(io.err.text()).toMatch(/^error: catalog: network error \(ECONNREFUSED\)\n$/);
    sim = await RunpodSimulator.start(testMarket());
  });
});

describe('pods and pod stop|start', () => {
  it('lists pods with uptime and GPU utilisation, marks the watcher’s own with their rule and, from its database, the time left to their ttl', async () => {
    const hour = 3_600_000;
    sim.market.addExistingPod({ id: 'mine1', name: 'trainer', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: ['GPU_WATCHER_RULE=a6000-trainer', 'GPU_WATCHER_DEPLOY=dep_1', 'HF_TOKEN=hf_abc'], readyAt: Date.now() - 2 * hour - 5 * 60_000, gpuUtil: 42 });
    sim.market.addExistingPod({ id: 'other1', name: 'notebook', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.36, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A5000', cloud: 'SECURE', podType: 'INTERRUPTABLE', env: [] });
    sim.market.addExistingPod({ id: 'slow1', name: 'slow', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.36, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A5000', cloud: 'SECURE', podType: 'RESERVED', env: [], readyAt: null });
    const db = join(await mkdtemp(join(tmpdir(), 'gw-pods-')), 'w.db');
    const store = openStore(db);
    const pod = { id: 'mine1', name: 'trainer', kind: 'on-demand' as const, costPerHr: 0.79 };
    store.lifecycle.track({ podId: 'mine1', pod, rule: 'a6000-trainer', deployId: 'dep_1', configHash: 'h', gpuTypeId: 'NVIDIA RTX A6000', startedAt: Date.now(), expiresAt: Date.now() + 5 * hour + 30 * 60_000 + 20_000 });
    store.close();
    const io = testIo(envFor({ RUNPOD_API_KEY: TEST_KEY, GPU_WATCHER_DB: db }));
    expect(await runCli(['pods'], io)).toBe(0);
    const lines = io.out.text().trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+UP\s+GPU%\s+GPU\s+KIND\s+\$\/HR\s+RULE\s+SPENT\s+ENDS IN$/);
    expect(lines[1]).toMatch(/^mine1\s+trainer\s+RUNNING\s+2h 5m\s+42\s+RTX A6000 x1\s+on-demand\s+\$0\.79\s+a6000-trainer\s+-\s+5h 30m$/);
    expect(lines[2]).toMatch(/^other1\s+notebook\s+EXITED\s+-\s+-\s+RTX A5000 x1\s+spot\s+\$0\.36\s+-\s+-\s+-$/);
    expect(lines[3]).toMatch(/^slow1\s+slow\s+RUNNING\s+starting\s+-\s+RTX A5000 x1/);

    const json = testIo(envFor({ RUNPOD_API_KEY: TEST_KEY }));
    expect(await runCli(['pods', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out.text())[0].watcher).toEqual({ rule: 'a6000-trainer', deployId: 'dep_1' });
    expect(JSON.parse(json.out.text())[0].runtime).toMatchObject({ gpuUtilPercent: [42] });
    expect(json.out.text()).not.toContain('hf_abc');
  });

  it('needs RUNPOD_API_KEY, and says so before calling RunPod', async () => {
    const io = testIo(envFor());
    expect(await runCli(['pods'], io)).toBe(1);
    expect(io.err.text()).toBe('error: this command needs RUNPOD_API_KEY (pods and mutations are not public)\n');
    expect(sim.requests).toHaveLength(0);
  });

  it('a wrong key is one clear line, exit 1', async () => {
    const io = testIo(envFor({ RUNPOD_API_KEY: 'rpa_wrong' }));
    expect(await runCli(['pods'], io)).toBe(1);
    expect(io.err.text()).toBe('error: listPods: HTTP 401: check RUNPOD_API_KEY\n');
  });

  it('stops a pod, starts it again, and bid-starts a spot pod', async () => {
    sim.market.addExistingPod({ id: 'od1', name: 'od', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    sim.market.addExistingPod({ id: 'sp1', name: 'sp', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.5, gpuCount: 2, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'INTERRUPTABLE', env: [] });
    const env = envFor({ RUNPOD_API_KEY: TEST_KEY });
    const stop = testIo(env);
    expect(await runCli(['pod', 'stop', 'od1'], stop)).toBe(0);
    expect(stop.out.text()).toBe('stopped pod od1 (od): EXITED, $0.79/hr\n');
    const start = testIo(env);
    expect(await runCli(['pod', 'start', 'od1'], start)).toBe(0);
    expect(start.out.text()).toBe('started pod od1 (od): RUNNING, $0.79/hr\n');
    const plain = testIo(env);
    expect(await runCli(['pod', 'start', 'sp1'], plain)).toBe(1);
    expect(plain.err.text()).toMatch(/^error: podResume: .+; pod sp1 is a spot pod: start it with --bid PRICE, at least its GPU's minimum bid \(gpu-watcher gpus\)\n$/);
    const bid = testIo(env);
    expect(await runCli(['pod', 'start', 'sp1', '--bid', '0.45'], bid)).toBe(0);
    expect(bid.out.text()).toBe('started pod sp1 (sp): RUNNING, $0.90/hr\n');
    expect(JSON.parse(sim.requestsFor('podBidResume')[0]?.body ?? '{}').variables.input).toEqual({ podId: 'sp1', gpuCount: 2, bidPerGpu: 0.45 });
  });

  it('terminates a pod through either API; an unknown one is one clear line, exit 1', async () => {
    sim.market.addExistingPod({ id: 'gone1', name: 'g', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    sim.market.addExistingPod({ id: 'gone2', name: 'g', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'SECURE', podType: 'RESERVED', env: [] });
    const env = envFor({ RUNPOD_API_KEY: TEST_KEY, RUNPOD_REST_URL: sim.restUrl });
    const graphql = testIo(env);
    expect(await runCli(['pod', 'terminate', 'gone1'], graphql)).toBe(0);
    expect(graphql.out.text()).toBe('terminated pod gone1\n');
    const rest = testIo(env);
    expect(await runCli(['pod', 'terminate', 'gone2', '--source', 'rest'], rest)).toBe(0);
    expect(sim.market.livePods().map((p) => p.id)).toEqual([]);
    const again = testIo({ ...env, LOG_LEVEL: 'silent' });
    expect(await runCli(['pod', 'terminate', 'gone1'], again)).toBe(1);
    expect(again.err.text()).toMatch(/^error: podTerminate: .*Pod not found.*\n$/);
  });
});

describe('flags checked before anything starts', () => {
  it('`run --http` must be HOST:PORT with a real port: one line, exit 78, nothing opened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-flags-'));
    for (const [value, why] of [
      ['127.0.0.1:99999', 'must have a port from 1 to 65535'],
      ['localhost', 'must be HOST:PORT, e.g. 127.0.0.1:9464'],
    ]) {
      const io = testIo({});
      expect(await runCli(['run', '--http', value ?? '', '-c', join(dir, 'missing.yaml'), '--db', join(dir, 'w.db')], io)).toBe(78);
      expect(io.err.text()).toBe(`error: --http: "${value}" ${why}\n`);
    }
    expect(existsSync(join(dir, 'w.db'))).toBe(false);
  });

  it('`sim --port` must be a port: one line, exit 1, no simulator started', async () => {
    const io = testIo({});
    expect(await runCli(['sim', '--port', '70000', '--scenario', '/nonexistent.yaml'], io)).toBe(1);
    expect(io.err.text()).toBe('error: --port must be a port from 1 to 65535, got "70000"\n');
  });
});

describe('sim and demo', () => {
  it('`sim` serves a market until asked to stop', async () => {
    const io = testIo({});
    const running = runCli(['sim'], io);
    const listening = () => /listening at (\S+)/.exec(io.out.text())?.[1];
    await waitUntil(() => listening() !== undefined, { what: '`sim` saying where it listens' });
    const url = listening();
    const gpus = testIo({ RUNPOD_API_URL: url, GPU_WATCHER_CONFIG: '' });
    expect(await runCli(['gpus', '--json'], gpus)).toBe(0);
    expect(JSON.parse(gpus.out.text()).gpus.length).toBeGreaterThanOrEqual(5);
    io.stop();
    expect(await running).toBe(0);
  });

  it('`demo` runs the watcher against the built-in market: a deploy, a refusal and fallback, the dashboard, each poll narrated', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-demo-'));
    const db = join(dir, 'demo.db');
    const io = testIo({ LOG_LEVEL: 'silent' });
    expect(await runCli(['demo', '--steps', '4', '--step-every', '5ms', '--db', db], io)).toBe(0);
    const out = io.out.text();
    expect(out).toContain('rule a6000-trainer');
    expect(out).toMatch(/NVIDIA RTX A6000\s+RTX A6000\s+48GB/);
    expect(out).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ /m);
    expect(out).toContain('event pod.deployed: a6000-trainer deployed NVIDIA RTX A6000 x1 on-demand at $0.79/GPU/hr');
    expect(out).toContain('[step 1] market: H100 and A100 come back on Secure Cloud');
    expect(out).toContain('NVIDIA H100 80GB HBM3 x1 SECURE: None - -> Low $2.99/GPU/hr bid $2.39/GPU/hr');
    expect(out).toContain('event rule.fallback: big-model fell back to NVIDIA A100 80GB PCIe: NVIDIA H100 80GB HBM3 refused by RunPod');
    expect(out).toContain('event pod.deployed: big-model deployed NVIDIA A100 80GB PCIe x1 on-demand at $1.64/GPU/hr');
    expect(out).toContain('[step 4] market: the A6000 sells out on Secure Cloud');
    expect(out).toMatch(/\d+ notification\(s\) delivered to the demo webhook/);
    const history = testIo({});
    expect(await runCli(['history', '--db', db, '--gpu', 'NVIDIA H100 80GB HBM3', '--json'], history)).toBe(0);
    expect(JSON.parse(history.out.text()).intervals.map((i: { stock: string }) => i.stock)).toEqual(['None', 'Low']);
  });

  it('`demo` shows the switch: GraphQL retires late in the story, the watcher moves to REST v2 in the same poll, and the next deploy goes through v2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-demo-'));
    const io = testIo({ LOG_LEVEL: 'silent' });
    expect(await runCli(['demo', '--steps', '9', '--step-every', '5ms', '--db', join(dir, 'demo.db')], io)).toBe(0);
    const out = io.out.text();
    expect(out).toContain('[start] RunPod API: GraphQL');
    expect(out).toContain('event pod.deployed: a6000-trainer deployed NVIDIA RTX A6000 x1 on-demand at $0.79/GPU/hr (pod ');
    expect(out).toMatch(/a6000-trainer deployed .* \(through GraphQL\)/);
    const [before, after] = out.split('[step 8] market: RunPod retires its GraphQL API');
    expect(before).not.toContain('REST v2');
    // The poll that met the 410 went on through v2: no failed poll at the switch.
    expect(after).toMatch(/^ \(HTTP 410 from now on\)[^\n]*\n  poll ok/);
    expect(after).toContain('the watcher now calls RunPod REST v2 (was GraphQL): market and pods come from it');
    // Whichever of the poll and the pod list read beside it met the 410 first names it.
    expect(after).toMatch(/event api\.switched: RunPod has retired its GraphQL API \((?:snapshot|listPods): HTTP 410 Gone/);
    expect(after).toMatch(/event pod\.deployed: render-farm deployed NVIDIA GeForce RTX 4090 x1 on-demand at \$0\.69\/GPU\/hr .*\(through REST v2\)/);
    expect(after).toContain('[step 9] market: H100 and A100 come back');
    expect(after).not.toContain('poll failed (retired)');
  });

  it('`demo` shows a stuck pod replaced and a pod going ready with its ssh line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-demo-'));
    const io = testIo({ LOG_LEVEL: 'silent' });
    expect(await runCli(['demo', '--steps', '3', '--step-every', '4s', '--db', join(dir, 'demo.db')], io)).toBe(0);
    const out = io.out.text();
    expect(out).toContain('event pod.deployed: notebook deployed NVIDIA RTX A5000 x1 on-demand at $0.36/GPU/hr');
    expect(out).toMatch(/event pod\.start_timeout: notebook: pod \w+ \(NVIDIA RTX A5000\) was not ready after \d+s; terminated it/);
    expect(out).toContain('event rule.fallback: notebook fell back to NVIDIA GeForce RTX 4090');
    expect(out).toMatch(/event pod\.ready: notebook: pod \w+ is ready after \d+s: ssh root@203\.0\.113\.\d+ -p \d+/);
  }, 30_000);

  it('--help and --version exit 0', async () => {
    const help = testIo({});
    expect(await runCli(['--help'], help)).toBe(0);
    expect(help.out.text()).toContain('gpus [options]');
    const sub = testIo({});
    expect(await runCli(['pod', 'start', '--help'], sub)).toBe(0);
    expect(sub.out.text()).toContain('--bid <price>');
    const version = testIo({});
    expect(await runCli(['--version'], version)).toBe(0);
    expect(version.out.text()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('history and replay --since', () => {
  const absurd = ['99999999d', '999999999d', '1e400h', '-5d', '1969-12-31', '2999-01-01', '2026-02-31', 'lately'];

  it.each(absurd)('history --since %s exits 78 naming the flag, without a stack', async (since) => {
    const io = testIo({ GPU_WATCHER_CONFIG: '' });
    expect(await runCli(['history', '--since', since, '--db', join(tmpdir(), 'gw-none.db')], io)).toBe(78);
    expect(io.err.text()).toMatch(new RegExp(`^error: --since: "${since.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" (reaches back before 1970|is in the future|is not a duration like 24h)[^\n]*\n$`));
    expect(io.out.text()).toBe('');
  });

  it.each(absurd)('replay --since %s exits 78 naming the flag, without a stack', async (since) => {
    const io = testIo({});
    expect(await runCli(['replay', '-c', 'config/watcher.example.yaml', '--since', since, '--db', join(tmpdir(), 'gw-none.db')], io)).toBe(78);
    expect(io.err.text()).toMatch(/^error: --since: "[^"]*" [^\n]+\n$/);
    expect(io.out.text()).toBe('');
  });
});

describe('the database a config names', () => {
  it('is found from the config file’s folder, whichever folder `run`, `status` and `history` start in', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gw-cwd-'));
    const home = join(root, 'home');
    const elsewhere = join(root, 'elsewhere');
    await mkdir(join(home, 'etc'), { recursive: true });
    await mkdir(elsewhere);
    const config = join(home, 'etc', 'watcher.yaml');
    await writeFile(config, 'watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\nstore: { path: ../var/journal.db }\n');
    await mkdir(join(home, 'var'));

    const run = spawnTs('src/cli.ts', ['run', '--once', '-c', config], { RUNPOD_API_URL: sim.url, LOG_LEVEL: 'warn' }, elsewhere);
    expect(await exited(run), run.output()).toBe(0);
    expect(existsSync(join(home, 'var', 'journal.db'))).toBe(true);
    expect(existsSync(join(root, 'var', 'journal.db'))).toBe(false);

    // This process runs in the repository, neither folder above.
    const status = testIo({});
    expect(await runCli(['status', '--json', '-c', config], status)).toBe(0);
    expect(JSON.parse(status.out.text()).lastPoll).toMatchObject({ outcome: 'ok', polls: 1 });
    const history = testIo({});
    expect(await runCli(['history', '--json', '-c', config], history)).toBe(0);
    expect(JSON.parse(history.out.text()).intervals.map((i: { key: { gpuTypeId: string } }) => i.key.gpuTypeId)).toEqual(['NVIDIA RTX A6000']);
    const check = testIo({});
    expect(await runCli(['check', '-c', config], check)).toBe(0);
    expect(check.out.text()).toContain(`store: ${join(home, 'var', 'journal.db')}`);

    // --db stays relative to the working directory, as a shell path does.
    const fromVar = spawnTs('src/cli.ts', ['history', '--json', '--db', 'journal.db'], {}, join(home, 'var'));
    expect(await exited(fromVar), fromVar.output()).toBe(0);
    expect(JSON.parse(fromVar.output()).intervals).toHaveLength(1);
  }, 60_000);
});
