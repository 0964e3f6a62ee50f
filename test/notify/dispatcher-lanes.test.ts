import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { createNotifiers } from '../../src/notify/registry.js';
import { openStore, type Store } from '../../src/store/store.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { newEvent } from '../../src/events/event.js';
import { capturedLogger } from '../helpers/capture.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';

let capture: CaptureServer;
let clock: FakeClock;
beforeEach(async () => {
  capture = await CaptureServer.start();
  clock = new FakeClock();
});
afterEach(async () => {
  await capture.close();
});

const hook = (path: string) => ({ type: 'webhook' as const, url: capture.url(path), secret: '', headers: {} });
const summaries = (path = '/hook') => capture.accepted().filter((r) => r.path === path).map((r) => JSON.parse(r.body).summary as string);

function dispatcherFor(store: Store, names: string[] = ['hook']) {
  const { logger, logs } = capturedLogger();
  const notifiers = createNotifiers(Object.fromEntries(names.map((n) => [n, hook(`/${n}`)])), { fetch: globalThis.fetch, timeoutMs: 2_000 });
  return { dispatcher: new Dispatcher({ outbox: store.outbox, notifiers, clock, logger }), logs };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
}

describe('a backlog', () => {
  it('is delivered whole in one round, even when its events are stamped ahead of the clock', async () => {
    // A wall clock stepped back leaves events stamped "in the future"; a batch larger than one read too.
    const store = openStore(':memory:');
    const { dispatcher } = dispatcherFor(store);
    for (let i = 0; i < 120; i++) store.outbox.append(newEvent({ type: 'test', summary: `event ${i}` }, clock.now() + 3_600_000 + i), ['hook']);
    await dispatcher.deliverDue();
    expect(summaries()).toEqual(Array.from({ length: 120 }, (_, i) => `event ${i}`));
    expect(store.outbox.depth()).toEqual({ pending: 0, failed: 0 });
  });

  it('shows a delivery not yet tried as due at its event’s time, not at 1970', () => {
    const store = openStore(':memory:');
    const event = newEvent({ type: 'test', summary: 'queued' }, clock.now());
    store.outbox.append(event, ['hook']);
    expect(store.outbox.undelivered(1)).toMatchObject([{ status: 'pending', attempts: 0, nextAttemptAt: clock.now() }]);
  });
});

describe('a receiver that is down', () => {
  it('gets one attempt per back-off once two deliveries in a row failed, and its whole backlog in order when it is back', async () => {
    const store = openStore(':memory:');
    const { dispatcher, logs } = dispatcherFor(store);
    for (let i = 0; i < 10; i++) {
      store.outbox.append(newEvent({ type: 'test', summary: `event ${i}` }, clock.now()), ['hook']);
      clock.advance(1);
    }
    capture.respondWith(...new Array(9).fill(503));
    await dispatcher.deliverDue();
    // Events 0 and 1, three tries each (1 s and 2 s apart); then the lane is held, not tried eight more times.
    expect(capture.requests).toHaveLength(6);
    expect(store.outbox.nextDueAt()).toBe(clock.now() + 30_000);
    expect(logs.text()).toContain('2 failures in a row: holding every delivery to this notifier until the retry');

    clock.advance(29_999);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(6);

    // Still down at the retry: the oldest is tried (three times) and the lane is held again, for 60 s.
    clock.advance(1);
    await dispatcher.deliverDue();
    expect(capture.requests).toHaveLength(9);
    expect(store.outbox.nextDueAt()).toBe(clock.now() + 60_000);

    clock.advance(60_000);
    await dispatcher.deliverDue();
    expect(summaries()).toEqual(Array.from({ length: 10 }, (_, i) => `event ${i}`));
    expect(store.outbox.depth()).toEqual({ pending: 0, failed: 0 });
  });

  it('does not hold up the other notifiers: an event that arrives meanwhile goes out at once', async () => {
    // A receiver that accepts the connection and never answers: each attempt runs to the timeout.
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const store = openStore(':memory:');
    const { logger } = capturedLogger();
    const notifiers = createNotifiers(
      { dead: { type: 'webhook', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/dead`, secret: '', headers: {} }, live: hook('/live') },
      { fetch: globalThis.fetch, timeoutMs: 300 },
    );
    const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock: systemClock, logger });
    try {
      for (let i = 0; i < 3; i++) store.outbox.append(newEvent({ type: 'test', summary: `backlog ${i}` }, Date.now()), ['dead']);
      dispatcher.start();
      // The dead lane is now busy for seconds (300 ms timeouts, 1 s and 2 s between tries).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const appended = Date.now();
      store.outbox.append(newEvent({ type: 'test', summary: 'fresh' }, Date.now()), ['live']);
      expect(await waitFor(() => summaries('/live').length === 1, 3_000)).toBe(true);
      expect(Date.now() - appended).toBeLessThan(3_000);
    } finally {
      await dispatcher.stop();
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('an event its receiver keeps refusing', () => {
  it('waits its own back-off without holding up the events after it', async () => {
    const store = openStore(':memory:');
    const { dispatcher } = dispatcherFor(store);
    for (let i = 0; i < 3; i++) {
      store.outbox.append(newEvent({ type: 'test', summary: `event ${i}` }, clock.now()), ['hook']);
      clock.advance(1);
    }
    capture.respondWith(500, 500, 500);
    await dispatcher.deliverDue();
    expect(summaries()).toEqual(['event 1', 'event 2']);

    clock.advance(30_000);
    capture.respondWith(500, 500, 500);
    store.outbox.append(newEvent({ type: 'test', summary: 'event 3' }, clock.now()), ['hook']);
    await dispatcher.deliverDue();
    expect(summaries()).toEqual(['event 1', 'event 2', 'event 3']);
    expect(store.outbox.undelivered(5)).toMatchObject([{ status: 'pending', attempts: 2 }]);
  });
});

describe('a lane whose drain throws (a row it cannot read, a database error)', () => {
  it('rests 30 s instead of retrying in a hot loop, then tries again', async () => {
    const store = openStore(tempDbPath());
    const { dispatcher, logs } = dispatcherFor(store);
    store.outbox.append(newEvent({ type: 'test', summary: 'stored' }, clock.now()), ['hook']);
    onDisk(store.path, (db) => db.prepare("UPDATE events SET body = 'not json'").run());
    await dispatcher.deliverDue();
    await dispatcher.deliverDue();
    expect(logs.text().match(/delivery round failed; trying again in 30 s/g)).toHaveLength(1);
    clock.advance(30_000);
    await dispatcher.deliverDue();
    expect(logs.text().match(/delivery round failed/g)).toHaveLength(2);
    expect(capture.requests).toHaveLength(0);
  });
});
