import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/lib/clock.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { signBody } from '../../src/notify/notifiers/webhook.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { daemonFor } from '../helpers/daemon.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { waitUntil } from '../helpers/wait.js';

let sim: RunpodSimulator;
let capture: CaptureServer;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  capture = await CaptureServer.start();
});
afterEach(async () => {
  await sim.close();
  await capture.close();
});

const WEBHOOK_SECRET = 'whsec_NEVER_PRINT_THIS';
const POD_SECRET = 'hf_POD_ENV_NEVER_PRINT';
// What RunPod's refusal of the first rule's deploy quotes back from the request: the image name.
const ECHOED = 'runpod/echo-marker:1';

/** Every row of every table of the database, as text. */
function dumpTables(db: Database.Database): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  return JSON.stringify(tables.map(({ name }) => ({ name, rows: db.prepare(`SELECT * FROM "${name}"`).all() })));
}

/** The raw bytes of the database file and its write-ahead log, as latin1 text to search in. */
function fileBytes(dbPath: string): { db: string; wal: string } {
  return { db: readFileSync(dbPath).toString('latin1'), wal: readFileSync(`${dbPath}-wal`).toString('latin1') };
}

/** Each secret found in each place, as "SECRET in PLACE": empty when nothing leaked. */
function leaks(places: Record<string, string>): string[] {
  return Object.entries(places).flatMap(([place, text]) => [TEST_KEY, WEBHOOK_SECRET, POD_SECRET].filter((secret) => text.includes(secret)).map((secret) => `${secret} in ${place}`));
}

/**
 * A file-backed daemon with two rules whose pods carry POD_SECRET in their env, a signed webhook
 * and a Slack notifier: the first rule's deploy is refused by RunPod with `refusal`, the second
 * deploys; a second cycle lets the refused rule rest (logged at debug with RunPod's text); then
 * three failed polls send api.down to every notifier, and everything due is delivered.
 */
async function secretsScenario(refusal: string) {
  const dbPath = join(await mkdtemp(join(tmpdir(), 'gw-secrets-')), 'w.db');
  const yaml = `
notifiers:
  ops: { type: slack, url: "${capture.url('/slack')}" }
  audit: { type: webhook, url: "${capture.url('/webhook')}", secret: ${WEBHOOK_SECRET} }
rules:
  - name: refused
    cloud: SECURE
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: "${ECHOED}", env: { HF_TOKEN: ${POD_SECRET} } }
    notify: [audit]
  - name: trainer
    cloud: SECURE
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch, env: { HF_TOKEN: ${POD_SECRET} } }
    notify: [audit]
`;
  const d = daemonFor(sim, yaml, { dbPath });
  sim.fault({ kind: 'graphqlError', message: refusal, op: 'podFindAndDeployOnDemand' });
  await d.watcher.tick();
  d.clock.advance(30_000);
  await d.watcher.tick();
  sim.fault({ kind: 'status', status: 502, times: 9, op: 'gpuTypes' });
  for (let i = 0; i < 3; i++) {
    d.clock.advance(30_000);
    await d.watcher.tick();
  }
  await d.dispatcher.deliverDue();
  const bytes = fileBytes(dbPath);
  const tables = onDisk(dbPath, dumpTables);
  d.store.close();
  return { d, tables, bytes };
}

describe('notifications end to end', () => {
  it('rule events reach the rule’s notifiers, api events every notifier, and no secret reaches any of them', async () => {
    const { d, tables, bytes } = await secretsScenario(`Invalid image name "${ECHOED}"`);
    const byPath = (path: string) => capture.accepted().filter((r) => r.path === path).map((r) => JSON.parse(r.body).type ?? JSON.parse(r.body).text);
    expect(byPath('/webhook')).toEqual(['pod.deploy_failed', 'pod.deployed', 'api.down']);
    expect(byPath('/slack')).toEqual([expect.stringContaining('RunPod API down')]);

    // The secrets were really carried: the pod env went to RunPod in both deploys, the webhook was signed with the secret.
    const deploys = sim.requestsFor('podFindAndDeployOnDemand');
    expect(deploys).toHaveLength(2);
    for (const request of deploys) expect(request.body).toContain(POD_SECRET);
    const webhooks = capture.requests.filter((r) => r.path === '/webhook');
    for (const request of webhooks) expect(request.headers['x-gpuwatcher-signature']).toBe(signBody(request.body, WEBHOOK_SECRET));

    // And every place was looked at: each table, both files, the debug log, what the receivers got.
    const deployIds = deploys.map((r) => (JSON.parse(r.body).variables.input.env as { key: string; value: string }[]).find((e) => e.key === 'GPU_WATCHER_DEPLOY')?.value ?? 'none');
    for (const table of ['deploys', 'deliveries', 'events', 'intervals', 'poll_runs', 'rule_state', 'watcher_state']) expect(tables).toContain(`"name":"${table}"`);
    for (const id of deployIds) expect(tables).toContain(id);
    expect(tables).toContain(ECHOED);
    expect(bytes.wal.length).toBeGreaterThan(0);
    for (const id of deployIds) expect(bytes.db + bytes.wal).toContain(id);
    expect(bytes.db + bytes.wal).toContain(ECHOED);
    const logs = d.logs.text();
    const rests = logs.split('\n').find((line) => line.includes('"msg":"rule rests"') && line.includes('"reason":"blocked"'));
    expect(rests).toContain('"level":20');
    expect(rests).toContain(ECHOED);

    expect(leaks({ receivers: JSON.stringify(capture.requests), log: logs, tables, 'db file': bytes.db, 'wal file': bytes.wal })).toEqual([]);
  });

  it('RunPod quoting the pod env and the key back in a refusal leaks neither into logs, events, deliveries or the database', async () => {
    const { d, tables, bytes } = await secretsScenario(`Invalid image name "${ECHOED}" (env HF_TOKEN=${POD_SECRET}, authorization: Bearer ${TEST_KEY})`);
    expect(tables).toContain(ECHOED);
    expect(capture.accepted().map((r) => JSON.parse(r.body).type)).toContain('pod.deploy_failed');
    expect(leaks({ receivers: JSON.stringify(capture.requests), log: d.logs.text(), tables, 'db file': bytes.db, 'wal file': bytes.wal })).toEqual([]);
  });

  it('a slow receiver does not delay the next poll', async () => {
    capture.delayMs = 1_500;
    const config = parseConfig(
      `notifiers: { ops: { type: webhook, url: "${capture.url()}" } }\nalerts: [{ name: a6000, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]\n`,
      't',
      { RUNPOD_API_URL: sim.url },
    );
    const { logger } = capturedLogger();
    const dbPath = tempDbPath();
    const d = createDaemon({ config, dbPath, apiKey: TEST_KEY, dryRun: false, clock: systemClock, logger });
    const delivery = () => onDisk(dbPath, (db) => db.prepare<[], { status: string; last_status: number | null }>('SELECT status, last_status FROM deliveries').all());
    d.dispatcher.start();
    await d.watcher.tick();
    // The alert's delivery has reached the receiver, which holds its answer for 1.5 s.
    await waitUntil(() => capture.arrived.length > 0, { what: 'the delivery reaching the receiver' });
    expect(capture.requests).toHaveLength(0);
    expect(delivery()).toEqual([{ status: 'pending', last_status: null }]);

    const started = Date.now();
    expect((await d.watcher.tick())?.outcome).toBe('ok');
    expect(Date.now() - started).toBeLessThan(500);
    // The fast poll ran while the delivery was in flight: the receiver had not answered yet.
    expect(capture.requests).toHaveLength(0);

    await waitUntil(() => delivery()[0]?.status === 'delivered', { timeoutMs: 15_000, what: 'the slow delivery completing' });
    expect(capture.accepted().map((r) => JSON.parse(r.body).type)).toEqual(['alert.fired']);
    expect(delivery()).toEqual([{ status: 'delivered', last_status: 200 }]);
    expect(capture.arrived).toHaveLength(1);
    await d.dispatcher.stop();
    await d.watcher.stop();
    d.store.close();
  });
});
