import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifiers } from '../../src/notify/registry.js';
import { openStore, type Store } from '../../src/store/store.js';
import { Dispatcher, FIRST_RETRY_MS, GIVE_UP_AFTER_MS, MAX_RETRY_MS, nextAttemptAt } from '../../src/notify/dispatcher.js';
import { newEvent } from '../../src/events/event.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { waitUntil } from '../helpers/wait.js';

let capture: CaptureServer;
let clock: FakeClock;
beforeEach(async () => {
  capture = await CaptureServer.start();
  clock = new FakeClock();
});
afterEach(async () => {
  await capture.close();
});

function dispatcherFor(store: Store, notifierNames: string[] = ['hook']) {
  const configs = Object.fromEntries(notifierNames.map((n) => [n, { type: 'webhook' as const, url: capture.url(`/${n}`), secret: '', headers: {} }]));
  const { logger, logs } = capturedLogger();
  const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers: createNotifiers(configs, { fetch: globalThis.fetch, timeoutMs: 2_000 }), clock, logger });
  return { dispatcher, logs };
}

const deliveries = (store: Store) => onDisk(store.path, (db) => db.prepare('SELECT notifier, status, attempts, last_status, last_error FROM deliveries ORDER BY notifier, event_id').all());

describe('outbox delivery', () => {
  it('a 500 then a 200 delivers exactly once', async () => {
    const store = openStore(tempDbPath());
    const { dispatcher } = dispatcherFor(store);
    capture.respondWith(500);
    store.outbox.append(newEvent({ type: 'test', summary: 'hello' }, clock.now()), ['hook']);
    await dispatcher.deliverDue();
    expect(capture.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(capture.accepted()).toHaveLength(1);
    expect(clock.sleeps).toEqual([1_000]);
    expect(deliveries(store)).toEqual([{ notifier: 'hook', status: 'delivered', attempts: 1, last_status: 200, last_error: null }]);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(2);
  });

  it('keeps failing deliveries in the outbox with a growing back-off, and delivers when the receiver is back', async () => {
    const store = openStore(tempDbPath());
    const { dispatcher, logs } = dispatcherFor(store);
    capture.respondWith(503, 503, 503, 503, 503, 503);
    store.outbox.append(newEvent({ type: 'test', summary: 'hello' }, clock.now()), ['hook']);
    await dispatcher.deliverDue();
    expect(deliveries(store)).toMatchObject([{ status: 'pending', attempts: 1, last_status: 503, last_error: 'HTTP 503: nope 503' }]);
    const firstRetryAt = store.outbox.nextDueAt();
    expect(firstRetryAt).toBe(clock.now() + 30_000);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(3);
    clock.advance(30_000 - 1);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(3);
    clock.advance(1);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(6);
    expect(store.outbox.nextDueAt()).toBe(clock.now() + 60_000);
    clock.advance(60_000);
    await dispatcher.deliverDue();
    expect(capture.accepted()).toHaveLength(1);
    expect(deliveries(store)).toMatchObject([{ status: 'delivered', attempts: 3 }]);
    expect(logs.text()).toContain('delivery failed; will retry');
  });

  it('records a 404 as failed and does not retry it', async () => {
    const store = openStore(tempDbPath());
    const { dispatcher, logs } = dispatcherFor(store);
    capture.respondWith(404);
    store.outbox.append(newEvent({ type: 'test', summary: 'hello' }, clock.now()), ['hook']);
    await dispatcher.deliverDue();
    clock.advance(10 * 3_600_000);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(1);
    expect(deliveries(store)).toEqual([{ notifier: 'hook', status: 'failed', attempts: 1, last_status: 404, last_error: 'HTTP 404: nope 404' }]);
    expect(store.outbox.depth()).toEqual({ pending: 0, failed: 1 });
    expect(logs.text()).toContain('refused this event for good');
  });

  it('gives up on an event still undelivered after 72 hours', async () => {
    const store = openStore(tempDbPath());
    const { dispatcher } = dispatcherFor(store);
    store.outbox.append(newEvent({ type: 'test', summary: 'old news' }, clock.now()), ['hook']);
    capture.respondWith(...new Array(6).fill(502));
    // One attempt is three tries, 1 s and 2 s apart: it ends 3 s after it starts, 1 ms short of 72 h.
    clock.advance(72 * 3_600_000 - 3_000 - 1);
    await dispatcher.deliverDue();
    expect(clock.sleeps).toEqual([1_000, 2_000]);
    expect(deliveries(store)).toMatchObject([{ status: 'pending', attempts: 1, last_status: 502 }]);
    clock.advance(30_000);
    await dispatcher.deliverDue();
    expect(deliveries(store)).toMatchObject([{ status: 'failed', attempts: 2, last_status: 502 }]);
  });

  it('backs off 30 s after the first failed attempt, doubling, at most an hour, and gives up after 72 hours', () => {
    expect([FIRST_RETRY_MS, MAX_RETRY_MS, GIVE_UP_AFTER_MS]).toEqual([30_000, 3_600_000, 259_200_000]);
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((attempts) => nextAttemptAt(1_000, attempts) - 1_000);
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('delivers in event order per notifier, and to each notifier once', async () => {
    const store = openStore(':memory:');
    const { dispatcher } = dispatcherFor(store, ['a', 'b']);
    for (let i = 0; i < 5; i++) {
      store.outbox.append(newEvent({ type: 'test', summary: `event ${i}` }, clock.now()), ['a', 'b']);
      clock.advance(1);
    }
    await dispatcher.deliverDue();
    const summaries = (path: string) => capture.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body).summary);
    expect(summaries('/a')).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4']);
    expect(summaries('/b')).toEqual(['event 0', 'event 1', 'event 2', 'event 3', 'event 4']);
  });

  it('undelivered events survive a restart and go out after it', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'gw-outbox-')), 'o.db');
    const before = openStore(path);
    await capture.close();
    const first = dispatcherFor(before);
    before.outbox.append(newEvent({ type: 'api.down', summary: 'down' }, clock.now()), ['hook']);
    await first.dispatcher.deliverDue();
    expect(deliveries(before)).toMatchObject([{ status: 'pending', attempts: 1 }]);
    before.close();

    await capture.listen();
    const after = openStore(path);
    const second = dispatcherFor(after);
    clock.advance(30_000);
    await second.dispatcher.deliverDue();
    expect(capture.accepted().map((r) => JSON.parse(r.body).summary)).toEqual(['down']);
    after.close();
  });

  it('the running loop delivers a new event at once, and stops cleanly', async () => {
    const store = openStore(':memory:');
    const { logger } = capturedLogger();
    const dispatcher = new Dispatcher({
      outbox: store.outbox,
      notifiers: createNotifiers({ hook: { type: 'webhook', url: capture.url(), secret: '', headers: {} } }, { fetch: globalThis.fetch, timeoutMs: 2_000 }),
      clock: (await import('../../src/lib/clock.js')).systemClock,
      logger,
    });
    dispatcher.start();
    store.outbox.append(newEvent({ type: 'test', summary: 'now' }, Date.now()), ['hook']);
    await waitUntil(() => capture.accepted().length > 0, { what: 'the new event reaching the receiver' });
    expect(capture.accepted()).toHaveLength(1);
    await dispatcher.stop();
    expect(dispatcher.stats.get('hook')).toEqual({ delivered: 1, retried: 0, failed: 0 });
  });
});
