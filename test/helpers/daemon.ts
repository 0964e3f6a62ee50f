import type { Config } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { RunpodSimulator } from '../../src/sim/server.js';
import type { WatcherEvent } from '../../src/events/event.js';
import { capturedLogger, type Capture } from './capture.js';
import { FakeClock } from './fake-clock.js';
import { TEST_KEY } from './market.js';

/** A whole daemon (store in memory, real client, rules engine, watcher) against the simulator. */
export function daemonFor(
  sim: RunpodSimulator,
  yaml: string,
  options: { dryRun?: boolean; apiKey?: string | undefined; dbPath?: string; clock?: FakeClock; metrics?: boolean } = {},
): Daemon & { clock: FakeClock; logs: Capture; config: Config; events: () => WatcherEvent[] } {
  const config = parseConfig(yaml, 'test.yaml', { RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl });
  const clock = options.clock ?? new FakeClock();
  const { logger, logs } = capturedLogger();
  const apiKey = 'apiKey' in options ? options.apiKey : TEST_KEY;
  const daemon = createDaemon({ config, dbPath: options.dbPath ?? ':memory:', apiKey, dryRun: options.dryRun ?? false, clock, logger, metrics: options.metrics ?? false });
  return { ...daemon, clock, logs, config, events: () => daemon.store.outbox.recent(1_000).reverse() };
}
