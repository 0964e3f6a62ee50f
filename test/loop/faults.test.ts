import { afterEach, describe, expect, it } from 'vitest';
import type { RunpodErrorKind } from '../../src/runpod/errors.js';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import type { FaultInput } from '../../src/sim/scenario.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

const PERIOD = 30_000;
// Long enough that every request of every poll meets the fault until it is cleared.
const ALWAYS = 100_000;
// A poll's in-call retries take up to 2 s on the fake clock (429 with Retry-After 1 s, twice).
const FAULT_START_MS = 5_000;
const SOMETHING_WENT_WRONG = 'Something went wrong. Please try again later or contact support.';

const YAML = (timeout: string) => `
poll: { schedule: "*/30 * * * * *", timeout: ${timeout} }
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
watch: [{ gpu: NVIDIA RTX A5000, cloud: SECURE }]
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch }, notify: [ops] }
`;

interface FaultCase {
  name: string;
  fault: FaultInput;
  /** How each failed poll is classified. */
  kind: RunpodErrorKind;
  /** The per-request deadline; short only where the fault is a silent server. */
  timeout?: string;
  /** Seconds RunPod asked us to wait: the fault lasts until the last such wait has passed. */
  retryAfterS?: number;
}

// The 17 kinds of the issue, each as RunPod (or what stands in front of it) would send it.
const CASES: FaultCase[] = [
  { name: 'HTTP 500', fault: { kind: 'status', status: 500 }, kind: 'transient' },
  { name: 'HTTP 502', fault: { kind: 'status', status: 502 }, kind: 'transient' },
  { name: 'HTTP 503 with an HTML body', fault: { kind: 'raw', status: 503, contentType: 'text/html', body: '<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>' }, kind: 'transient' },
  { name: 'HTTP 429 with Retry-After 1 s', fault: { kind: 'status', status: 429, retryAfter: 1 }, kind: 'rate_limited', retryAfterS: 1 },
  { name: 'HTTP 429 with Retry-After 120 s', fault: { kind: 'status', status: 429, retryAfter: 120 }, kind: 'rate_limited', retryAfterS: 120 },
  { name: 'a timeout', fault: { kind: 'delay', ms: 5_000 }, kind: 'transient', timeout: '300ms' },
  { name: 'a connection reset', fault: { kind: 'reset' }, kind: 'transient' },
  { name: 'malformed JSON', fault: { kind: 'malformed' }, kind: 'transient' },
  { name: 'HTML with status 200', fault: { kind: 'raw', contentType: 'text/html', body: '<!doctype html><html><body>Cloudflare: checking your browser</body></html>' }, kind: 'transient' },
  { name: 'a GraphQL error', fault: { kind: 'graphqlError', scope: 'request', message: SOMETHING_WENT_WRONG }, kind: 'transient' },
  { name: 'HTTP 401', fault: { kind: 'status', status: 401 }, kind: 'auth' },
  {
    name: 'HTTP 400 validation error',
    fault: {
      kind: 'raw',
      status: 400,
      body: JSON.stringify({ errors: [{ message: 'Variable "$k0p" got invalid value {}; Field "gpuCount" of required type "Int!" was not provided.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }),
    },
    kind: 'invalid_request',
  },
  { name: 'plain HTTP 400', fault: { kind: 'raw', status: 400, contentType: 'text/plain', body: 'Bad Request' }, kind: 'invalid_request' },
  { name: '{"data":null}', fault: { kind: 'raw', body: '{"data":null}' }, kind: 'transient' },
  { name: '{"data":{}}', fault: { kind: 'raw', body: '{"data":{}}' }, kind: 'transient' },
  { name: 'a JSON array', fault: { kind: 'raw', body: '[]' }, kind: 'transient' },
  { name: 'every key errored', fault: { kind: 'graphqlError', scope: 'each', message: SOMETHING_WENT_WRONG }, kind: 'transient' },
];

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('health under each of the 17 fault kinds', () => {
  it('covers the 17 kinds of the issue', () => {
    expect(CASES).toHaveLength(17);
  });

  it.each(CASES)('$name: the loop lives, /healthz is 503 within 3 periods and 200 within 1 after, api.down and api.up once each', async (c) => {
    const s = await RunpodSimulator.start(testMarket());
    sim = s;
    const d = daemonFor(s, YAML(c.timeout ?? '10s'));
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: PERIOD, assets: loadDashboardAssets() });
    const health = async (): Promise<number> => (await handler({ method: 'GET', url: '/healthz', headers: {} })).status;
    const start = d.clock.now();
    const tickAt = async (period: number) => {
      // node-cron fires on the schedule whatever the last poll cost; in-call retries move the fake clock.
      d.clock.advance(Math.max(0, start + period * PERIOD - d.clock.now()));
      const result = await d.watcher.tick();
      expect(result, 'every tick runs a cycle to its end').toBeDefined();
      return result;
    };
    const halfwayTo = (period: number) => d.clock.advance(Math.max(0, start + (period - 0.5) * PERIOD - d.clock.now()));

    expect((await tickAt(0))?.outcome).toBe('ok');
    expect(await health()).toBe(200);

    // The fault starts just after a good poll (the worst case for "within 3 periods", less the few
    // seconds a poll's own retries take), and lasts for 6 polls.
    d.clock.advance(FAULT_START_MS);
    const faultStart = d.clock.now();
    s.fault({ ...c.fault, times: ALWAYS } as FaultInput);
    let downAt: number | undefined;
    let rateLimitedUntil = 0;
    for (let period = 1; period <= 6; period++) {
      const seen = s.requests.length;
      const result = await tickAt(period);
      expect([result?.outcome, result?.errorKind]).toEqual(['failed', c.kind]);
      if (s.requests.slice(seen).some((r) => r.status === 429)) rateLimitedUntil = d.clock.now() + (c.retryAfterS ?? 0) * 1_000;
      if (period === 1) expect(await health(), 'one failed poll is not yet down').toBe(200);
      if ((await health()) === 503) downAt ??= d.clock.now();
      halfwayTo(period + 1);
      if ((await health()) === 503) downAt ??= d.clock.now();
    }
    expect(downAt, '/healthz turned 503').toBeDefined();
    expect((downAt ?? Infinity) - faultStart).toBeLessThanOrEqual(3 * PERIOD);
    expect(d.auth.accepted, 'only a refused key closes the gate').toBe(c.kind !== 'auth');

    // The fault ends between two polls; RunPod's last Retry-After is part of it.
    s.clearFaults();
    const faultEnd = Math.max(d.clock.now(), rateLimitedUntil);
    let upAt: number | undefined;
    for (let period = 7; period <= 12 && upAt === undefined; period++) {
      const result = await tickAt(period);
      if (result?.outcome === 'ok' && (await health()) === 200) upAt = d.clock.now();
    }
    expect(upAt, '/healthz turned 200 again').toBeDefined();
    expect((upAt ?? Infinity) - faultEnd).toBeLessThanOrEqual(PERIOD);
    expect(d.auth.accepted, 'the key is accepted again once the pod list goes through').toBe(true);

    const apiEvents = d.events().filter((e) => e.type.startsWith('api.'));
    expect(apiEvents.map((e) => e.type)).toEqual(['api.down', 'api.up']);
    expect(d.watcher.stats.cycleErrors).toBe(0);
    d.store.close();
  }, 60_000);
});
