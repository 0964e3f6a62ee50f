import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { createNotifiers } from '../src/notifiers/index.js';
import { openStore } from '../src/store/store.js';
import { startCountingReceiver } from '../src/sim/receiver.js';
import { Dispatcher } from '../src/watcher/dispatcher.js';
import { newEvent } from '../src/watcher/events.js';

const EVENTS = 1_000;

/** 1,000 events to each of 3 notifiers (two webhooks, one signed, and Slack) through loopback receivers. */
export async function notifyBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-notify-'));
  const receivers = await Promise.all([startCountingReceiver(), startCountingReceiver(), startCountingReceiver()]);
  const store = openStore(join(dir, 'notify.db'));
  const notifiers = createNotifiers(
    {
      plain: { type: 'webhook', url: receivers[0]?.url ?? '', secret: '', headers: {} },
      signed: { type: 'webhook', url: receivers[1]?.url ?? '', secret: 'bench-secret', headers: { 'X-Team': 'ml' } },
      slack: { type: 'slack', url: receivers[2]?.url ?? '' },
    },
    { fetch: globalThis.fetch, timeoutMs: 10_000 },
  );
  const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock: systemClock, logger: createLogger('silent') });
  const now = Date.now();
  store.db.transaction(() => {
    for (let i = 0; i < EVENTS; i++) {
      const event = newEvent({ type: 'pod.deployed', summary: `bench event ${i}`, rule: 'bench', pod: { id: `p${i}`, name: 'bench', kind: 'on-demand', costPerHr: 0.79 } }, now + i);
      store.outbox.append(event, ['plain', 'signed', 'slack']);
    }
  })();
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  await dispatcher.deliverDue();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const received = receivers.map((r) => r.count());
  const depth = store.outbox.depth();
  store.close();
  await Promise.all(receivers.map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
  console.log(`notify: ${EVENTS.toLocaleString('en')} events x 3 notifiers (webhook, signed webhook, Slack) to loopback receivers, file DB outbox`);
  console.log(`  delivered ${received.join(' + ')} in ${seconds.toFixed(2)} s (${Math.round((EVENTS * 3) / seconds)} deliveries/s), ${depth.pending} left pending; RSS ${(before / 1_048_576).toFixed(1)} MiB before, peak ${(peak / 1_048_576).toFixed(1)} MiB (+${((peak - before) / 1_048_576).toFixed(1)})`);
}
