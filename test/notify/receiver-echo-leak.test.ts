import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { schedulePeriodMs } from '../../src/lib/cron-period.js';
import { testIo } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { onDisk } from '../helpers/on-disk.js';
import { ScriptedReceiver } from '../helpers/scripted-receiver.js';

// Secrets short and plain enough that only naming them can cut them out (no credential shape).
const WEBHOOK_SECRET = 'whsec-Kq7Zp2Lm9Rt';
const HEADER_SECRET = 'teamAuthV4lue77';
const PATH_TOKEN = 'pathTok3nQz7Wx5Vb';
const QUERY_TOKEN = 'qTok9Xz2Lm4Kp';
const SLACK_TOKEN = 'xS1ackT0kenAbCdEfGh2345';
const POD_SECRET = 'hfPodEnvS3cret';

let sim: RunpodSimulator;
let echo: ScriptedReceiver;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  // A misconfigured proxy in front of the receivers: 500, with the request it got in the answer
  // (path, auth header, signature, then the body), and a pod env value it picked up from an
  // earlier event that carried one. The secrets come first, inside the 200 characters kept.
  echo = await ScriptedReceiver.start((request) => ({
    status: 500,
    body: `upstream failed: env HF_TOKEN=${POD_SECRET} path ${request.path} auth ${request.headers['x-team-auth'] ?? '-'} sig ${request.headers['x-gpuwatcher-signature'] ?? '-'} body ${request.body}`,
  }));
});
afterEach(async () => {
  await sim.close();
  await echo.close();
});

describe('a receiver that echoes the request back', () => {
  it('leaves no secret in any log line, database row or byte, /api/status or `gpu-watcher status`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-echo-'));
    const db = join(dir, 'w.db');
    const file = join(dir, 'c.yaml');
    const yaml = `store: { path: ${db} }
notifiers:
  audit:
    type: webhook
    url: "${echo.url(`/hooks/${PATH_TOKEN}?code=${QUERY_TOKEN}`)}"
    secret: ${WEBHOOK_SECRET}
    headers: { X-Team-Auth: ${HEADER_SECRET} }
  ops: { type: slack, url: "${echo.url(`/services/T0ECHO/B0ECHO/${SLACK_TOKEN}`)}" }
rules:
  - name: trainer
    cloud: SECURE
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch, env: { HF_TOKEN: ${POD_SECRET} } }
    notify: [audit, ops]
`;
    await writeFile(file, yaml);
    // On today's clock: `gpu-watcher status` judges the last poll's age by the real time.
    const d = daemonFor(sim, yaml, { dbPath: db, clock: new FakeClock(Date.now()) });
    await d.watcher.tick();
    await d.dispatcher.deliverDue();
    d.clock.advance(30_000);
    await d.dispatcher.deliverDue();

    // The receiver did get (and echo) what must not come back.
    const seen = JSON.stringify(echo.requests);
    for (const value of [PATH_TOKEN, QUERY_TOKEN, HEADER_SECRET, SLACK_TOKEN]) expect(seen).toContain(value);
    const signatures = echo.requests.map((r) => r.headers['x-gpuwatcher-signature']).filter((s): s is string => s !== undefined);
    expect(signatures.length).toBeGreaterThan(0);
    // ...and the failures are still told, with the receiver's words minus the secrets.
    const errors = onDisk(db, (sql) => sql.prepare('SELECT notifier, attempts, last_error FROM deliveries ORDER BY notifier').all()) as { notifier: string; attempts: number; last_error: string }[];
    expect(errors.map((e) => [e.notifier, e.attempts])).toEqual([['audit', 2], ['ops', 2]]);
    for (const e of errors) expect(e.last_error).toMatch(/^HTTP 500: upstream failed: env HF_TOKEN=\[redacted\] path \/(hooks|services)\/.*\[redacted\]/);
    expect(d.logs.text()).toContain('delivery failed');

    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: schedulePeriodMs(d.config.poll.schedule), assets: loadDashboardAssets() });
    const apiStatus = await handler({ method: 'GET', url: '/api/status', headers: { host: '127.0.0.1' } });
    expect(apiStatus.status).toBe(200);
    const tables = onDisk(db, (sql) => sql.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toContain('deliveries');
    const rows = onDisk(db, (sql) => tables.map((table) => JSON.stringify(sql.prepare(`SELECT * FROM "${table}"`).all())));
    const bytes = [db, `${db}-wal`].filter(existsSync).map((path) => readFileSync(path).toString('latin1'));
    await d.watcher.stop();
    d.store.close();

    const json = testIo({});
    expect(await runCli(['status', '-c', file, '--json'], json)).toBe(0);
    const text = testIo({});
    expect(await runCli(['status', '-c', file], text)).toBe(0);
    expect(text.out.text()).toContain('last: HTTP 500');

    const haystack = [d.logs.text(), ...rows, ...bytes, String(apiStatus.body), json.out.text(), text.out.text()].join('\n');
    const secrets = [WEBHOOK_SECRET, HEADER_SECRET, PATH_TOKEN, QUERY_TOKEN, SLACK_TOKEN, POD_SECRET, TEST_KEY, ...signatures, ...signatures.map((s) => s.replace('sha256=', ''))];
    for (const secret of secrets) expect(haystack, secret).not.toContain(secret);
  });
});
