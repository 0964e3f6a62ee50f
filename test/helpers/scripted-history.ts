import type { StockLevel, WatchKey } from '../../src/runpod/types.js';
import type { Store } from '../../src/store/store.js';
import { offer } from './offers.js';

/** What a script says of one poll: a stock level (and price), or a failed poll. */
export type ScriptedPoll = { stock: StockLevel; price?: number } | 'failed';

/**
 * Records a scripted market through the real recorder: a poll every `stepMs` in [from, to]
 * (both ends polled), each one `script(t)` for `key`, in one transaction.
 */
export function recordScript(store: Store, key: WatchKey, from: number, to: number, stepMs: number, script: (t: number) => ScriptedPoll): void {
  store.transaction(() => {
    for (let t = from; t <= to; t += stepMs) {
      const poll = script(t);
      if (poll === 'failed') store.history.recordPoll({ at: t, durationMs: 10_000, outcome: 'failed', errorKind: 'transient', error: 'HTTP 502' }, []);
      else store.history.recordPoll({ at: t, durationMs: 40, outcome: 'ok' }, [offer(key, poll.stock, poll.price ?? 2.49)]);
    }
  });
}
