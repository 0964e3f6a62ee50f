import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testIo } from '../helpers/capture.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let dir: string;
let sims: RunpodSimulator[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-lease-cli-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function simulator(): Promise<RunpodSimulator> {
  const sim = await RunpodSimulator.start(testMarket());
  sims.push(sim);
  return sim;
}

/** A config file with one rule on the A6000 (in stock) or the H100 (sold out at first). */
function config(name: string, options: { schedule: string; rule: string; gpu?: string }): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `poll: { schedule: "${options.schedule}", timeout: 10s }
store: { path: ${join(dir, `${name}.db`)} }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    ${options.rule}
    candidates: [{ gpu: ${options.gpu ?? 'NVIDIA RTX A6000'}, maxPrice: 5.00 }]
    pod: { imageName: runpod/pytorch }
`,
  );
  return file;
}

function daemon(sim: RunpodSimulator, args: string[]): ChildProcess & { output: () => string } {
  const child = spawnTs('src/cli.ts', ['run', ...args], { RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' });
  children.push(child);
  return child;
}

const polls = (child: { output: () => string }): number => child.output().split('\n').filter((l) => l.includes('"msg":"poll:')).length;
const deploys = (sim: RunpodSimulator): number => sim.requestsFor('podFindAndDeployOnDemand').length;
const holderLine = (pid: number | undefined): string => `another gpu-watcher, pid ${pid} on ${hostname()}, has run on this database since 20`;

describe('one acting daemon per database', () => {
  it('two daemons started together on a fresh database, 20 times: one deploys, the other exits 75 naming it', async () => {
    // maxPods 2 and an hourly schedule: each daemon that acts deploys exactly once at its start, so
    // two acting daemons would show as two deploys every time.
    const file = config('pair', { schedule: '0 0 * * * *', rule: 'maxPods: 2' });
    const outcomes: string[] = [];
    const trial = async (n: number): Promise<void> => {
      const sim = await simulator();
      const db = join(dir, `pair-${n}.db`);
      const pair = [daemon(sim, ['-c', file, '--db', db]), daemon(sim, ['-c', file, '--db', db])];
      const exits = pair.map((child) => exited(child));
      await until(() => pair.every((child) => child.exitCode !== null || polls(child) > 0), 30_000);
      for (const child of pair) if (child.exitCode === null) child.kill('SIGTERM');
      const codes = await Promise.all(exits);
      const loser = pair[codes.indexOf(75)];
      const winner = pair[codes.indexOf(0)];
      outcomes.push(`${[...codes].sort().join('/')} deploys=${deploys(sim)}`);
      expect(deploys(sim), 'deploy mutations sent').toBe(1);
      expect(codes.sort(), pair.map((c) => c.output()).join('\n')).toEqual([0, 75]);
      expect(loser?.output().split('\n')).toEqual([expect.stringContaining(`error: ${holderLine(winner?.pid)}`), '']);
      for (const child of pair) expect(child.output()).not.toContain('already exists');
      await sim.close();
    };
    // Two trials at a time, each on its own simulator and database, to keep the 20 quick.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 20) await trial(next++);
    };
    await Promise.all([worker(), worker()]);
    expect(outcomes).toEqual(new Array(20).fill('0/75 deploys=1'));
  }, 180_000);

  it('--standby waits without acting, then takes over within one period of the holder being killed with SIGKILL, and deploys nothing twice', async () => {
    const sim = await simulator();
    // maxDeploys 1 is counted from the shared journal: a standby that acted while it waited, or
    // failed to see the holder's deploy, would deploy a second pod.
    const file = config('standby', { schedule: '*/2 * * * * *', rule: 'maxDeploys: 1' });
    const pair = [daemon(sim, ['-c', file, '--standby']), daemon(sim, ['-c', file, '--standby'])];
    await until(() => pair.some((c) => c.output().includes('standby: another gpu-watcher')) && pair.some((c) => polls(c) > 0), 30_000);
    const standby = pair.find((c) => c.output().includes('standby: another gpu-watcher'));
    const holder = pair.find((c) => c !== standby);
    if (!standby || !holder) throw new Error('no standby');
    expect(standby.output()).toContain(holderLine(holder.pid));
    expect(deploys(sim)).toBe(1);
    // The standby holds no lock while it waits: the holder goes on recording its polls.
    const before = polls(holder);
    await until(() => polls(holder) >= before + 2, 15_000);
    expect(polls(standby)).toBe(0);

    const killedAt = Date.now();
    holder.kill('SIGKILL');
    await until(() => standby.output().includes(`took the database lease over from pid ${holder.pid} on ${hostname()}: its process is gone`), 10_000);
    expect(Date.now() - killedAt).toBeLessThan(2_000);
    await until(() => polls(standby) >= 2, 15_000);
    expect(deploys(sim)).toBe(1);
    expect(sim.market.livePods()).toHaveLength(1);
    standby.kill('SIGTERM');
    expect(await exited(standby)).toBe(0);
  }, 60_000);

  it('a `run --once` beside a running daemon exits 75 and deploys nothing; a clean stop gives the lease up', async () => {
    const sim = await simulator();
    const file = config('once', { schedule: '0 0 * * * *', rule: 'maxPods: 2' });
    const holder = daemon(sim, ['-c', file]);
    await until(() => polls(holder) > 0, 30_000);
    const once = daemon(sim, ['-c', file, '--once']);
    expect(await exited(once)).toBe(75);
    expect(once.output()).toContain(`error: ${holderLine(holder.pid)}`);
    expect(deploys(sim)).toBe(1);

    holder.kill('SIGTERM');
    expect(await exited(holder)).toBe(0);
    const db = new Database(join(dir, 'once.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM lease').get()).toEqual({ n: 0 });
    db.close();
    const after = daemon(sim, ['-c', file, '--once']);
    expect(await exited(after)).toBe(0);
    expect(deploys(sim)).toBe(2);
  }, 60_000);

  it('a holder whose lease was taken over stops acting at once and exits 75 saying who holds it', async () => {
    const sim = await simulator();
    const file = config('lost', { schedule: '* * * * * *', rule: 'maxPods: 1', gpu: 'NVIDIA H100 80GB HBM3' });
    const holder = daemon(sim, ['-c', file]);
    await until(() => polls(holder) > 0, 30_000);
    // Another daemon took over (as after this one was suspended past the expiry); then stock appears.
    const db = new Database(join(dir, 'lost.db'));
    db.prepare(
      "UPDATE lease SET token = 'taken-over', host = 'other-host', pid = 4242, acquired_at = ?, renewed_at = ?, expires_at = ?",
    ).run(Date.UTC(2026, 0, 1), Date.now(), Date.now() + 3_600_000);
    db.close();
    sim.market.set({ gpu: 'NVIDIA H100 80GB HBM3', cloud: 'SECURE', stock: 'High', price: 2.5, counts: [1] });
    const exit = exited(holder);
    await until(() => holder.exitCode !== null || deploys(sim) > 0, 15_000);
    expect(deploys(sim)).toBe(0);
    expect(await exit).toBe(75);
    expect(holder.output().trim().split('\n').at(-1)).toBe(
      "error: this gpu-watcher lost the database's lease: another gpu-watcher, pid 4242 on other-host, has run on this database since 2026-01-01T00:00:00.000Z; it stopped acting",
    );
    expect(deploys(sim)).toBe(0);
  }, 60_000);

  it('status, history and replay read a database another daemon holds', async () => {
    const sim = await simulator();
    const file = config('readers', { schedule: '0 0 * * * *', rule: 'maxPods: 1' });
    const holder = daemon(sim, ['-c', file]);
    await until(() => polls(holder) > 0, 30_000);
    const db = join(dir, 'readers.db');
    const status = testIo({});
    expect(await runCli(['status', '-c', file, '--db', db, '--json'], status)).toBe(0);
    expect(JSON.parse(status.out.text()).rules[0]).toMatchObject({ name: 'trainer', deploys: 1 });
    const history = testIo({});
    expect(await runCli(['history', '--db', db, '--json', '--since', '1h'], history)).toBe(0);
    expect(JSON.parse(history.out.text()).intervals.length).toBeGreaterThan(0);
    const replay = testIo({});
    expect(await runCli(['replay', '-c', file, '--db', db, '--since', '1h'], replay)).toBe(0);
    expect(replay.out.text()).toContain('trainer');
    expect(polls(holder)).toBe(1);
    holder.kill('SIGTERM');
    expect(await exited(holder)).toBe(0);
  }, 60_000);
});
