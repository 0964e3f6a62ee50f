import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { testIo } from '../helpers/capture.js';
import { exited, spawnTs, until } from '../helpers/child.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { SMTP_CA_FILE, SmtpCapture } from '../helpers/smtp-capture.js';

let capture: CaptureServer;
let dir: string;
beforeEach(async () => {
  capture = await CaptureServer.start();
  dir = await mkdtemp(join(tmpdir(), 'gw-notify-'));
});
afterEach(async () => {
  await capture.close();
});

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gpu-watcher notify-test', () => {
  it('sends a test event through each notifier and reports each result; exit 1 when one failed', async () => {
    const file = join(dir, 'c.yaml');
    await writeFile(file, `notifiers:\n  ops: { type: slack, url: "${capture.url('/slack')}" }\n  audit: { type: webhook, url: "${capture.url('/webhook')}", secret: s3cr3t }\n`);
    capture.respondWith(200, 500);
    const io = testIo({});
    expect(await runCli(['notify-test', '-c', file], io)).toBe(1);
    expect(io.out.text()).toBe('ops (slack): delivered, HTTP 200\naudit (webhook): FAILED, HTTP 500: nope 500\n');
    expect(io.err.text()).toBe('error: 1 of 2 notifier(s) failed\n');
    expect(JSON.parse(capture.requests[1]?.body ?? '{}')).toMatchObject({ type: 'test', dryRun: false });

    const one = testIo({});
    expect(await runCli(['notify-test', '-c', file, '--notifier', 'audit'], one)).toBe(0);
    expect(one.out.text()).toBe('audit (webhook): delivered, HTTP 200\n');

    const unknown = testIo({});
    expect(await runCli(['notify-test', '-c', file, '--notifier', 'pager'], unknown)).toBe(1);
    expect(unknown.err.text()).toBe('error: no notifier named "pager" (defined: ops, audit)\n');
  });
});

describe('gpu-watcher notify-test, every notifier type', () => {
  it('delivers a test event through each of the eight, routing aside', async () => {
    const smtp = await SmtpCapture.start({ authOptional: true });
    try {
      const file = join(dir, 'all.yaml');
      await writeFile(
        file,
        `notifiers:
  slack: { type: slack, url: "${capture.url('/slack')}", events: [pod.*] }
  webhook: { type: webhook, url: "${capture.url('/webhook')}", minSeverity: critical }
  discord: { type: discord, url: "${capture.url('/discord')}" }
  telegram: { type: telegram, botToken: "42:TOKEN", chatId: 7, apiUrl: "${capture.url('/tg')}" }
  ntfy: { type: ntfy, url: "${capture.url('/alerts')}" }
  email: { type: email, host: 127.0.0.1, port: ${smtp.listenPort}, ca: ${SMTP_CA_FILE}, from: w@example.com, to: [me@example.com] }
  pagerduty: { type: pagerduty, routingKey: key, url: "${capture.url('/pd')}" }
  teams: { type: teams, url: "${capture.url('/teams')}" }
`,
      );
      const io = testIo({});
      expect(await runCli(['notify-test', '-c', file], io)).toBe(0);
      expect(io.out.text()).toBe(
        [
          'slack (slack): delivered, HTTP 200',
          'webhook (webhook): delivered, HTTP 200',
          'discord (discord): delivered, HTTP 200',
          'telegram (telegram): delivered, HTTP 200',
          'ntfy (ntfy): delivered, HTTP 200',
          'email (email): delivered, SMTP 250',
          'pagerduty (pagerduty): delivered, HTTP 200',
          'teams (teams): delivered, HTTP 200',
          '',
        ].join('\n'),
      );
      expect(capture.requests.map((r) => r.path)).toEqual(['/slack', '/webhook', '/discord', '/tg/bot42:TOKEN/sendMessage', '/', '/pd', '/pd', '/teams']);
      expect(smtp.mails.map((m) => m.parsed.subject)).toEqual(['[gpu-watcher] info: gpu-watcher test notification: if you can read this, this notifier works']);
    } finally {
      await smtp.close();
    }
  });
});

describe('undelivered events across a crash', () => {
  it('a daemon killed with undelivered events delivers them after restart', async () => {
    const sim = await RunpodSimulator.start(testMarket());
    const port = await freePort();
    const receiver = new CaptureServer();
    const file = join(dir, 'c.yaml');
    const db = join(dir, 'w.db');
    await writeFile(
      file,
      `poll: { schedule: "0 0 * * * *" }\nstore: { path: ${db} }\nnotifiers: { ops: { type: webhook, url: "http://127.0.0.1:${port}/hook" } }\nalerts: [{ name: a6000, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]\n`,
    );
    const env = { RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: TEST_KEY };
    const child = spawnTs('src/cli.ts', ['run', '-c', file], env);
    const exit = exited(child);
    const pendingDeliveries = (): number => {
      try {
        const reader = new Database(db, { readonly: true, fileMustExist: true });
        const { n } = reader.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number };
        reader.close();
        return n;
      } catch {
        return 0;
      }
    };
    await until(() => pendingDeliveries() === 1);
    child.kill('SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const pending = new Database(db, { readonly: true });
    expect(pending.prepare('SELECT status FROM deliveries').all()).toEqual([{ status: 'pending' }]);
    pending.close();

    await receiver.listen(port);
    const again = spawnTs('src/cli.ts', ['run', '-c', file, '--once'], env);
    expect(await exited(again)).toBe(0);
    expect(receiver.accepted().map((r) => JSON.parse(r.body).type)).toEqual(['alert.fired']);
    await receiver.close();
    await sim.close();
  });
});
