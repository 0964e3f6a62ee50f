import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { createNotifiers } from '../src/notify/registry.js';
import { openStore } from '../src/store/store.js';
import { startCountingReceiver } from '../src/sim/receiver.js';
import { Dispatcher } from '../src/notify/dispatcher.js';
import { newEvent } from '../src/events/event.js';

const EVENTS = 1_000;
const NOTIFIERS = ['plain', 'signed', 'slack'];
const DEADLINE_MS = 300_000;

const mib = (bytes: number): string => (bytes / 1_048_576).toFixed(1);

/**
 * A backlog of 1,000 events to each of 3 notifiers (a webhook, a signed webhook, Slack), as a
 * daemon finds it after an outage, delivered by the running dispatcher to loopback receivers.
 * The figures count what the receivers received, and are printed only once all of it arrived.
 */
export async function notifyBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-notify-'));
  const receivers = await Promise.all(NOTIFIERS.map(() => startCountingReceiver()));
  const url = (i: number): string => receivers[i]?.url ?? '';
  const store = openStore(join(dir, 'notify.db'));
  const notifiers = createNotifiers(
    {
      plain: { type: 'webhook', url: url(0), secret: '', headers: {} },
      signed: { type: 'webhook', url: url(1), secret: 'bench-secret', headers: { 'X-Team': 'ml' } },
      slack: { type: 'slack', url: url(2) },
    },
    { fetch: globalThis.fetch, timeoutMs: 10_000 },
  );
  const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock: systemClock, logger: createLogger('silent') });
  // One event a second over the last 1,000 seconds: the backlog a receiver outage leaves.
  const now = Date.now();
  store.transaction(() => {
    for (let i = 0; i < EVENTS; i++) {
      const event = newEvent({ type: 'pod.deployed', summary: `bench event ${i}`, rule: 'bench', pod: { id: `p${i}`, name: 'bench', kind: 'on-demand', costPerHr: 0.79 } }, now - (EVENTS - i) * 1_000);
      store.outbox.append(event, NOTIFIERS);
    }
  });
  const expected = EVENTS * NOTIFIERS.length;
  const received = (): number => receivers.reduce((sum, r) => sum + r.count(), 0);

  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  dispatcher.start();
  while ((received() < expected || store.outbox.depth().pending > 0) && performance.now() - started < DEADLINE_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await dispatcher.stop();
  const counts = receivers.map((r) => r.count());
  const total = received();
  const depth = store.outbox.depth();
  store.close();
  await Promise.all(receivers.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
  if (total !== expected || depth.pending > 0 || depth.failed > 0) {
    throw new Error(`notify: only ${total} of ${expected} deliveries arrived within ${DEADLINE_MS / 1000} s (${depth.pending} pending, ${depth.failed} given up)`);
  }
  console.log(`notify: a backlog of ${EVENTS.toLocaleString('en')} events x 3 notifiers (webhook, signed webhook, Slack), running dispatcher, loopback receivers, file DB outbox`);
  console.log(
    `  received ${counts.join(' + ')} = ${total.toLocaleString('en')} of ${expected.toLocaleString('en')}, all in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} deliveries/s; ` +
      `RSS ${mib(before)} MiB before, peak ${mib(peak)} MiB (+${mib(peak - before)})`,
  );
}
