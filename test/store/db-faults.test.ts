import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { openStore } from '../../src/store/store.js';
import { systemClock } from '../../src/lib/clock.js';
import { createNotifiers } from '../../src/notify/registry.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { newEvent } from '../../src/events/event.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { testIo } from '../helpers/capture.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator;
let dir: string;
let config: string;

// Permissions do not stop root: as root, the daemon runs as nobody for the permission cases.
const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  dir = await mkdtemp(join(tmpdir(), 'gw-dbfault-'));
  chmodSync(dir, 0o755);
  config = join(dir, 'watcher.yaml');
  // Every second, one rule on a GPU that is sold out until a test puts it in stock.
  writeFileSync(
    config,
    `poll: { schedule: "* * * * * *", timeout: 5s }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 5.00 }]
    pod: { imageName: runpod/pytorch }
`,
  );
  chmodSync(config, 0o644);
});
afterEach(async () => {
  await sim.close();
});

const env = (): NodeJS.ProcessEnv => ({ RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY, LOG_LEVEL: 'info' });
const deploys = (): number => sim.requestsFor('podFindAndDeployOnDemand').length;
const inStock = (): void => sim.market.set({ gpu: 'NVIDIA H100 80GB HBM3', cloud: 'SECURE', stock: 'High', price: 2.5, counts: [1] });
const polls = (text: string): number => text.split('\n').filter((l) => l.includes('"msg":"poll:')).length;

function sqliteFile(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE t (x)');
  db.close();
}

describe('a database that cannot be opened or written is refused at start with its path and the cause (exit 73)', () => {
  it.each([
    ['the path is a directory', (): string => {
      mkdirSync(join(dir, 'a-folder.db'));
      return join(dir, 'a-folder.db');
    }, 'the path is a directory, not a database file (SQLITE_CANTOPEN: unable to open database file)'],
    ['the file is not SQLite', (): string => {
      writeFileSync(join(dir, 'notes.db'), 'these are my notes, not a database\n'.repeat(200));
      return join(dir, 'notes.db');
    }, 'the file is not a SQLite database (SQLITE_NOTADB: file is not a database)'],
    ['its folder cannot be created', (): string => {
      writeFileSync(join(dir, 'plain-file'), '');
      return join(dir, 'plain-file', 'sub', 'w.db');
    }, 'cannot create its folder: ENOTDIR: not a directory'],
  ])('%s', async (_name, make, cause) => {
    const path = make();
    const io = testIo(env());
    expect(await runCli(['run', '-c', config, '--db', path, '--once'], io)).toBe(73);
    expect(io.err.text()).toMatch(new RegExp(`^error: database ${path}: (cannot be opened or written: )?${cause.replace(/[()]/g, '\\$&')}.*\\n$`));
    expect(sim.requests).toHaveLength(0);
  });

  it.each([
    ['its folder is not writable', (): string => {
      mkdirSync(join(dir, 'shut'), { mode: 0o555 });
      chmodSync(join(dir, 'shut'), 0o555);
      return join(dir, 'shut', 'w.db');
    }, 'its folder <dir>/shut is not writable'],
    ['the file is read-only', (): string => {
      mkdirSync(join(dir, 'open'));
      chmodSync(join(dir, 'open'), 0o777);
      openStore(join(dir, 'open', 'w.db')).close();
      chmodSync(join(dir, 'open', 'w.db'), 0o444);
      return join(dir, 'open', 'w.db');
    }, 'the file is read-only (SQLITE_READONLY: attempt to write a readonly database)'],
  ])('%s', async (_name, make, cause) => {
    const path = make();
    const child = spawnTs('src/cli.ts', ['run', '-c', config, '--db', path, '--once'], env(), process.cwd(), unprivileged);
    expect(await exited(child)).toBe(73);
    expect(child.output()).toContain(`error: database ${path}: cannot be opened or written: ${cause.replace('<dir>', dir)}`);
    expect(child.output().trim().split('\n')).toHaveLength(1);
    expect(sim.requests).toHaveLength(0);
  });
});

describe('a database deleted or replaced under a running daemon', () => {
  it.each([
    ['deleted', (path: string): void => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    }, 'was deleted'],
    ['replaced', (path: string): void => {
      sqliteFile(join(dir, 'other.db'));
      renameSync(join(dir, 'other.db'), path);
    }, 'was replaced by another file'],
  ])('%s: noticed at the next cycle, the daemon stops acting and exits 73 saying so', async (_name, change, what) => {
    const path = join(dir, 'w.db');
    const io = testIo(env());
    const running = runCli(['run', '-c', config, '--db', path], io);
    await until(() => polls(io.err.text()) > 0);
    change(path);
    inStock();
    let code: number | undefined;
    void running.then((c) => (code = c));
    await until(() => code !== undefined || deploys() > 0);
    expect(deploys()).toBe(0);
    expect(code).toBe(73);
    expect(io.err.text().trim().split('\n').at(-1)).toBe(`error: database ${path}: ${what} while gpu-watcher ran on it; it stopped acting`);
  });
});

describe('a lock held by another program', () => {
  it('does not freeze the HTTP server: /healthz answers all along the 5 s lock, readers read, and polling resumes after', async () => {
    const path = join(dir, 'w.db');
    writeFileSync(config, 'poll: { schedule: "*/2 * * * * *", timeout: 5s }\nwatch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\n');
    // The daemon runs in its own process, so a blocked event loop there shows in the times measured here.
    const daemon = spawnTs('src/cli.ts', ['run', '-c', config, '--db', path, '--http', '127.0.0.1:0'], env());
    const daemonExit = exited(daemon);
    await until(() => polls(daemon.output()) > 0 && daemon.output().includes('HTTP server listening'), 30_000);
    const url = /"url":"(http:\/\/[^"]+)"/.exec(daemon.output())?.[1];

    const locker = spawnTs('test/fixtures/hold-lock.ts', [path, '5000']);
    const lockerExit = exited(locker);
    await until(() => locker.output().includes('locked'), 30_000);
    const pollsBefore = polls(daemon.output());
    const reader = testIo({});
    expect(await runCli(['history', '--db', path, '--json', '--since', '1h'], reader)).toBe(0);
    expect(JSON.parse(reader.out.text()).intervals).toHaveLength(1);
    const timings: { ms: number; status: number }[] = [];
    while (!locker.output().includes('released')) {
      const started = performance.now();
      const response = await fetch(`${url}/healthz`);
      await response.text();
      timings.push({ ms: Math.round(performance.now() - started), status: response.status });
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await lockerExit).toBe(0);

    expect(timings.length).toBeGreaterThan(20);
    // A frozen event loop would hold an answer for most of the 5 s lock (better-sqlite3's busy wait is
    // synchronous); a fifth of it tells that apart from a loaded machine's scheduling noise.
    expect(timings.filter((t) => t.ms >= 1_000 || t.status !== 200)).toEqual([]);
    // The daemon did meet the lock (its cycle waited for it), and goes on once it is gone.
    expect(daemon.output()).toContain('another program holds a lock on the database; waiting for it');
    await until(() => polls(daemon.output()) > pollsBefore, 10_000);
    daemon.kill('SIGTERM');
    expect(await daemonExit).toBe(0);
  }, 60_000);

  it('does not make the dispatcher resend an event it could not record as delivered, while the lock lasts', async () => {
    const path = join(dir, 'w.db');
    const store = openStore(path);
    const capture = await CaptureServer.start();
    const { logger, logs } = capturedLogger();
    const notifiers = createNotifiers({ hook: { type: 'webhook', url: capture.url(), secret: '', headers: {} } }, { fetch: globalThis.fetch, timeoutMs: 2_000 });
    const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock: systemClock, logger });
    store.outbox.append(newEvent({ type: 'test', summary: 'hello' }, Date.now()), ['hook']);
    const locker = new Database(path);
    locker.exec('BEGIN EXCLUSIVE');
    dispatcher.start();
    await until(() => logs.text().includes('delivery round failed'));
    const lockedAt = Date.now();
    await until(() => Date.now() - lockedAt > 1_500, 5_000);
    expect(capture.requests).toHaveLength(1);
    locker.exec('COMMIT');
    locker.close();
    await dispatcher.stop();
    await capture.close();
    store.close();
  });
});
