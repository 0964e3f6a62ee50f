import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { testIo } from '../helpers/capture.js';
import { exited, spawnTs, until } from '../helpers/child.js';

let sim: RunpodSimulator;
let dir: string;
let config: string;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  dir = await mkdtemp(join(tmpdir(), 'gw-run-'));
  config = join(dir, 'watcher.yaml');
  writeFileSync(
    config,
    ['poll: { schedule: "*/30 * * * * *", timeout: 5s }', 'watch:', '  - { gpu: NVIDIA RTX A6000, cloud: SECURE }', '  - { gpu: NVIDIA RTX A5000, cloud: SECURE }', `store: { path: ${join(dir, 'from-config.db')} }`].join('\n'),
  );
});
afterEach(async () => {
  await sim.close();
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info', ...extra });

/** Integrity, and that every committed poll wrote every key: nothing half-written. */
function consistency(path: string): { integrity: string; polls: number; perKey: number[] } {
  const db = new Database(path, { readonly: true });
  const integrity = (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  const polls = (db.prepare("SELECT coalesce(sum(polls), 0) AS n FROM poll_runs WHERE outcome != 'failed'").get() as { n: number }).n;
  const perKey = (db.prepare('SELECT sum(polls) AS n FROM intervals GROUP BY key_id ORDER BY key_id').all() as { n: number }[]).map((r) => r.n);
  db.close();
  return { integrity, polls, perKey };
}

describe('gpu-watcher run', () => {
  it('--once polls every watched key in one request, records it, and exits 0', async () => {
    const io = testIo(env());
    const db = join(dir, 'once.db');
    expect(await runCli(['run', '-c', config, '--db', db, '--once'], io)).toBe(0);
    expect(sim.requests).toHaveLength(1);
    expect(consistency(db)).toEqual({ integrity: 'ok', polls: 1, perKey: [1, 1] });
    expect(io.err.text()).toContain('poll: 2 changed');
    expect(io.err.text()).not.toContain(TEST_KEY);
  });

  it('takes the database from --db, then GPU_WATCHER_DB, then store.path', async () => {
    expect(await runCli(['run', '-c', config, '--once'], testIo(env({ GPU_WATCHER_DB: join(dir, 'env.db') })))).toBe(0);
    expect(consistency(join(dir, 'env.db')).polls).toBe(1);
    expect(await runCli(['run', '-c', config, '--once'], testIo(env()))).toBe(0);
    expect(consistency(join(dir, 'from-config.db')).polls).toBe(1);
  });

  it('--once exits 1 with one line when RunPod cannot be reached', async () => {
    await sim.close();
    const io = testIo(env({ LOG_LEVEL: 'silent' }));
    expect(await runCli(['run', '-c', config, '--db', join(dir, 'down.db'), '--once'], io)).toBe(1);
    expect(io.err.text()).toBe('error: the cycle did not complete (transient)\n');
    sim = await RunpodSimulator.start(testMarket());
  });

  it('refuses a bad config with 78 before touching the database', async () => {
    writeFileSync(config, 'poll: { schedule: "61 * * * * *" }\n');
    const io = testIo(env());
    expect(await runCli(['run', '-c', config, '--db', join(dir, 'never.db')], io)).toBe(78);
    expect(io.err.text()).toContain('poll.schedule: is not a valid cron expression');
  });

  it('polls at start, then stops cleanly on shutdown with exit 0', async () => {
    const io = testIo(env());
    const db = join(dir, 'daemon.db');
    const running = runCli(['run', '-c', config, '--db', db], io);
    await until(() => io.err.text().includes('poll: 2 changed'));
    io.stop();
    expect(await running).toBe(0);
    expect(io.err.text()).toContain('stopped cleanly');
    expect(consistency(db)).toEqual({ integrity: 'ok', polls: 1, perKey: [1, 1] });
  });
});

describe('gpu-watcher history', () => {
  it('prints the recorded intervals as a table and as JSON, filtered by GPU', async () => {
    const db = join(dir, 'h.db');
    await runCli(['run', '-c', config, '--db', db, '--once'], testIo(env()));
    sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', stock: 'None' });
    await runCli(['run', '-c', config, '--db', db, '--once'], testIo(env()));

    const table = testIo({});
    expect(await runCli(['history', '--db', db, '--gpu', 'NVIDIA RTX A6000'], table)).toBe(0);
    const lines = table.out.text().trim().split('\n');
    expect(lines[0]).toMatch(/^GPU\s+COUNT\s+CLOUD\s+FROM \(UTC\)\s+TO \(UTC\)\s+POLLS\s+STOCK\s+ON-DEMAND \$\/GPU\/HR\s+MIN BID \$\/GPU\/HR\s+COUNTS$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/)[6])).toEqual(['High', 'None']);

    const json = testIo({});
    expect(await runCli(['history', '--db', db, '--json', '--since', '1h'], json)).toBe(0);
    const body = JSON.parse(json.out.text());
    expect(body.intervals.map((i: any) => [i.key.gpuTypeId, i.stock, i.onDemandPrice, i.minBidPrice, i.availableGpuCounts])).toEqual([
      ['NVIDIA RTX A5000', 'Low', 0.36, 0.2, [1]],
      ['NVIDIA RTX A5000', 'Low', 0.36, 0.2, [1]],
      ['NVIDIA RTX A6000', 'High', 0.79, 0.41, [1, 2, 4]],
      ['NVIDIA RTX A6000', 'None', 0.79, 0.41, [1, 2, 4]],
    ]);
    expect(body.intervals[0].firstSeen).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('says clearly when there is no database yet', async () => {
    const io = testIo({});
    expect(await runCli(['history', '--db', join(dir, 'none.db')], io)).toBe(1);
    expect(io.err.text()).toBe(`error: no database at ${join(dir, 'none.db')}: has \`gpu-watcher run\` recorded anything yet?\n`);
  });

  it('refuses a bad --since with exit 78, naming the flag', async () => {
    const io = testIo({});
    expect(await runCli(['history', '--since', 'yesterday-ish', '--db', join(dir, 'x.db')], io)).toBe(78);
    expect(io.err.text()).toBe('error: --since: "yesterday-ish" is not a duration like 24h or 7d, nor a date like 2026-11-01 or 2026-11-01T08:00Z\n');
  });
});

describe('crash safety', () => {
  it('SIGTERM mid-cycle aborts the request, writes nothing half-done, closes the database and exits 0', async () => {
    sim.fault({ kind: 'delay', ms: 5_000 });
    const db = join(dir, 'term.db');
    const child = spawnTs('src/cli.ts', ['run', '-c', config, '--db', db], env());
    const exit = exited(child);
    await until(() => sim.requests.length === 1);
    const signalled = Date.now();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3_000);
    expect(child.output()).toContain('stopped cleanly');
    expect(consistency(db)).toEqual({ integrity: 'ok', polls: 0, perKey: [] });
  });

  it.each([150, 400, 900])('kill -9 %i ms into a stream of writes leaves a database that opens, passes integrity_check and holds only whole polls', async (delay) => {
    const db = join(dir, `kill-${delay}.db`);
    const child = spawnTs('test/fixtures/hammer-store.ts', [db]);
    const exit = exited(child);
    await until(() => child.output().includes('ready'));
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const { integrity, polls, perKey } = consistency(db);
    expect(integrity).toBe('ok');
    expect(polls).toBeGreaterThan(1);
    expect(perKey).toEqual(new Array(40).fill(polls));
  });
});
