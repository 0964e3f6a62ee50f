import { parseConfig } from '../../src/config/load.js';
import { watchedKeys } from '../../src/config/watched-keys.js';
import { AuthGate } from '../../src/loop/auth-gate.js';
import { Watcher } from '../../src/loop/watcher.js';
import { RulesEngine } from '../../src/rules/engine.js';
import type { RunpodSimulator } from '../../src/sim/server.js';
import type { Store } from '../../src/store/store.js';
import { capturedLogger } from './capture.js';
import { FakeClock } from './fake-clock.js';
import { restClientFor } from './rest.js';

/** The watch loop and the rules engine as the daemon wires them, over the REST v2 client, on `store`. */
export function loopOverRest(sim: RunpodSimulator, store: Store, yaml: string, clock = new FakeClock()): { watcher: Watcher; clock: FakeClock; auth: AuthGate } {
  const config = parseConfig(yaml, 'test.yaml', {});
  const { logger } = capturedLogger();
  const api = restClientFor(sim, { clock, logger });
  const auth = new AuthGate(true, logger, clock);
  const engine = new RulesEngine({ api, store, config, clock, logger, auth, dryRun: false });
  const keys = watchedKeys(config).map((w) => w.key);
  return { watcher: new Watcher({ api, store, clock, logger, keys, notifiers: [], retentionMs: 86_400_000, auth, engine }), clock, auth };
}
