import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { REFUSALS } from '../../src/sim/market.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { EVENT_TYPES } from '../../src/events/event.js';
import { parseConfig } from '../../src/config/load.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { createNotifiers } from '../../src/notify/registry.js';
import { openStore } from '../../src/store/store.js';
import { capturedLogger, testIo } from '../helpers/capture.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { loopOverRest } from '../helpers/rest-loop.js';
import { CaptureServer, type Captured } from '../helpers/capture-server.js';
import { daemonFor } from '../helpers/daemon.js';
import { createReloader } from '../../src/daemon/reload.js';
import { testMarket } from '../helpers/market.js';

const SCHEMA_FILE = new URL('../../docs/events.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: { type: { enum: string[] } } };

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const H100 = 'NVIDIA H100 80GB HBM3';
const POLL = 30_000;
const SECRET = 'whsec_docs_example';

/**
 * The published schema, compiled strictly: a schema ajv must warn about is a broken schema. Only
 * `strictRequired` is off: each type's `then` requires fields the top level defines, which is
 * valid JSON Schema that this lint cannot follow.
 */
function validator() {
  const ajv = new Ajv2020.default({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

/** The check docs/events.md gives receivers, written from the doc rather than taken from src. */
function signatureValid(request: Captured, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`);
  const given = Buffer.from(request.headers['x-gpuwatcher-signature'] ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

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

/**
 * A daemon on the simulator through a scenario that makes every event type: a rule with nothing in
 * stock (exhausted), a capacity refusal and a fallback, a refused spot mutation (spot retired), a
 * resume, a budget of three pods, an alert that fires, reminds and resolves, three failed polls and
 * a good one (api.down, api.up), a 410 (api.switched under `auto`; api.retired from a second daemon
 * pinned to GraphQL, which then reloads its config: config.reloaded), then `notify-test`.
 */
async function everyEventType(): Promise<Captured[]> {
  sim.market.addExistingPod({ id: 'stopped1', name: 'notebook', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'RESERVED', env: [] });
  sim.market.addExistingPod({ id: 'stopped2', name: 'notebook2', desiredStatus: 'EXITED', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'RESERVED', env: [] });
  const notifiers = hookNotifiers();
  const yaml = `${notifiers}
alerts:
  - { name: a6000-high, gpu: ${A6000}, cloud: SECURE, when: { stockAtLeast: High }, repeat: 30s, notify: [hook] }
budget: { maxPods: 3 }
rules:
  - { name: h100, cloud: SECURE, candidates: [{ gpu: ${H100}, maxPrice: 5 }], pod: { imageName: i }, notify: [hook] }
  - name: trainer
    cloud: SECURE
    minStock: Low
    spot: never
    candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }]
    pod: { imageName: i }
    notify: [hook]
  - { name: spotty, cloud: SECURE, candidates: [{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }], pod: { imageName: i }, notify: [hook] }
resume:
  - { name: notebook, podId: stopped1, notify: [hook] }
  - { name: notebook2, podId: stopped2, notify: [hook] }
`;
  const d = daemonFor(sim, yaml);
  const tick = async (): Promise<void> => {
    await d.watcher.tick();
    d.clock.advance(POLL);
  };
  sim.fault({ kind: 'graphqlError', message: REFUSALS.capacity, code: 'SUPPLY_CONSTRAINT', op: 'podFindAndDeployOnDemand' });
  sim.fault({ kind: 'graphqlError', message: 'Cannot query field "podRentInterruptable" on type "Mutation".', code: 'GRAPHQL_VALIDATION_FAILED', op: 'podRentInterruptable' });
  await tick(); // alert.fired, rule.exhausted, pod.deploy_failed x2, rule.fallback, pod.deployed x2, spot.unavailable, pod.resumed, budget.blocked
  await tick(); // alert.reminder, budget.blocked (rule)
  sim.fault({ kind: 'status', status: 502, times: 1_000, op: 'gpuTypes' });
  for (let failed = 0; failed < 3; failed++) await tick(); // api.down
  sim.clearFaults();
  sim.market.set({ gpu: A6000, cloud: 'SECURE', stock: 'Medium' });
  await tick(); // api.up, alert.resolved
  sim.fault({ kind: 'status', status: 410, op: 'gpuTypes' });
  await tick(); // api.switched: the poll goes on through REST v2
  await d.dispatcher.deliverDue();
  d.store.close();
  const pinnedYaml = `api: { source: graphql }\n${notifiers}watch: [{ gpu: ${A6000}, cloud: SECURE }]\n`;
  const pinned = daemonFor(sim, pinnedYaml);
  sim.fault({ kind: 'status', status: 410, op: 'gpuTypes' });
  await pinned.watcher.tick(); // api.retired
  const env = { RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl };
  const reloaded = `${pinnedYaml}budget: { maxPods: 2 }\nalerts: [{ name: cheap, gpu: ${A5000}, when: { maxPrice: 0.5 }, notify: [hook] }]\n`;
  const reload = createReloader({ daemon: pinned, load: async () => parseConfig(reloaded, 'test.yaml', env), logger: capturedLogger().logger, now: () => pinned.clock.now() });
  expect(await reload()).toMatchObject({ applied: true }); // config.reloaded
  await pinned.dispatcher.deliverDue();
  pinned.store.close();

  const file = join(await mkdtemp(join(tmpdir(), 'gw-docs-')), 'notify.yaml');
  await writeFile(file, notifiers);
  expect(await runCli(['notify-test', '-c', file], testIo())).toBe(0);
  return capture.requests;
}

/** The webhook notifier every run here delivers to. */
const hookNotifiers = (): string => `notifiers:\n  hook: { type: webhook, url: "${capture.url('/hook')}", secret: ${SECRET}, headers: { X-Team: ml } }\n`;

/**
 * The events only REST v2 makes (GraphQL deploys take a price ceiling and GraphQL has no 402): a
 * rules engine over the REST client on the same simulator, delivering to the same webhook. A pod
 * made dearer than the ceiling (pod.over_price), then a 402 on the fallback (account.payment_required).
 */
async function restOnlyEvents(): Promise<void> {
  const yaml = `${hookNotifiers()}
rules:
  - { name: dear, cloud: SECURE, minStock: Low, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }, { gpu: ${A5000}, maxPrice: 0.40 }], pod: { imageName: i }, notify: [hook] }
`;
  const store = openStore(':memory:');
  const clock = new FakeClock();
  const { logger } = capturedLogger();
  const { watcher } = loopOverRest(sim, store, yaml, clock);
  sim.market.createMarkup.set(A6000, 1.5);
  await watcher.tick(); // pod.over_price, rule.fallback, pod.deployed
  expect(store.outbox.recent(3).map((e) => e.type)).toEqual(['pod.deployed', 'rule.fallback', 'pod.over_price']);
  sim.market.stop({ podId: store.journal.recent(1)[0]?.podId ?? '' });
  sim.fault({ kind: 'rest', status: 402, detail: 'insufficient balance', op: 'createPod' });
  clock.advance(POLL);
  await watcher.tick(); // pod.deploy_failed, account.payment_required
  expect(store.outbox.recent(2).map((e) => e.type)).toEqual(['account.payment_required', 'pod.deploy_failed']);
  const notifiers = createNotifiers(parseConfig(yaml, 'test.yaml', {}).notifiers, { fetch: globalThis.fetch, timeoutMs: 5_000, secrets: [] });
  await new Dispatcher({ outbox: store.outbox, notifiers, clock, logger }).deliverDue();
  store.close();
}

/**
 * The events of a pod's life, on a simulator of its own whose clock moves with the daemon's: a pod
 * that never gets ready (pod.start_timeout), one with a 30-minute ttl and port 22 (pod.ready,
 * pod.expired warning and end), and one whose GPUs idle (pod.idle, pod.stopped).
 */
async function lifecycleEvents(): Promise<void> {
  const clock = new FakeClock();
  const own = await RunpodSimulator.start(testMarket(), { clock });
  try {
    own.market.setPodLife(A5000, { failure: 'never' });
    own.market.setPodLife(A6000, { startIn: 10_000 });
    const yaml = `${hookNotifiers()}
rules:
  - { name: stuck, cloud: SECURE, minStock: Low, spot: never, startTimeout: 1m, candidates: [{ gpu: ${A5000}, maxPrice: 0.40 }], pod: { imageName: i }, notify: [hook] }
  - { name: short, cloud: SECURE, spot: never, ttl: 30m, warnBefore: 5m, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i, ports: "22/tcp" }, notify: [hook] }
  - { name: idler, cloud: SECURE, spot: never, idle: { for: 10m }, warnBefore: 5m, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i }, notify: [hook] }
`;
    const d = daemonFor(own, yaml, { clock });
    for (let minute = 0; minute < 40; minute++) {
      await d.watcher.tick();
      clock.advance(60_000);
    }
    expect(new Set(d.events().map((e) => e.type))).toEqual(new Set(['pod.deployed', 'pod.start_timeout', 'rule.exhausted', 'pod.ready', 'pod.expired', 'pod.idle', 'pod.stopped']));
    await d.dispatcher.deliverDue();
    d.store.close();
  } finally {
    await own.close();
  }
}

describe('docs/events.schema.json', () => {
  it('names every event type the watcher has, and no other', () => {
    expect([...schema.properties.type.enum].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('every webhook body of a run that makes every event type is valid, with the documented headers', async () => {
    const validate = validator();
    await everyEventType();
    await restOnlyEvents();
    await lifecycleEvents();
    const requests = capture.requests;
    const bodies = requests.map((r) => JSON.parse(r.body) as { id: string; type: string });
    expect(new Set(bodies.map((b) => b.type))).toEqual(new Set(EVENT_TYPES));
    for (const [i, request] of requests.entries()) {
      const body = bodies[i];
      expect(validate(body) ? [] : validate.errors, `${request.body}`).toEqual([]);
      expect(request.headers).toMatchObject({
        'content-type': 'application/json',
        'x-gpuwatcher-event': body?.type,
        'x-gpuwatcher-delivery': body?.id,
        'x-team': 'ml',
      });
      expect(signatureValid(request, SECRET)).toBe(true);
    }
  });
});
