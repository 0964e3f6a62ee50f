import { RunpodGraphqlClient } from '../../src/runpod/graphql/client.js';
import type { Snapshot, WatchKey } from '../../src/runpod/types.js';
import { openStore, type Store } from '../../src/store/store.js';
import { Watcher } from '../../src/loop/watcher.js';
import { AuthGate } from '../../src/loop/auth-gate.js';
import type { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger, type Capture } from './capture.js';
import { FakeClock } from './fake-clock.js';
import { TEST_KEY } from './market.js';

/** A watcher over the simulator with a real in-memory store and a hand-driven clock. */
export function watcherFor(
  sim: RunpodSimulator,
  keys: WatchKey[],
  options: { apiKey?: string; timeoutMs?: number; onSnapshot?: (s: Snapshot) => Promise<void>; store?: Store } = {},
): { watcher: Watcher; store: Store; clock: FakeClock; logs: Capture; auth: AuthGate } {
  const clock = new FakeClock();
  const { logger, logs } = capturedLogger();
  const store = options.store ?? openStore(':memory:');
  const apiKey = 'apiKey' in options ? options.apiKey : TEST_KEY;
  const api = new RunpodGraphqlClient({ url: sim.url, apiKey, timeoutMs: options.timeoutMs ?? 2_000, clock, logger });
  const auth = new AuthGate(Boolean(apiKey), logger, clock);
  const watcher = new Watcher({
    api,
    store,
    clock,
    logger,
    keys,
    notifiers: ['ops', 'audit'],
    retentionMs: 90 * 86_400_000,
    auth,
    ...(options.onSnapshot ? { onSnapshot: options.onSnapshot } : {}),
  });
  return { watcher, store, clock, logs, auth };
}
