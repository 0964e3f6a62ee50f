import type { Db } from './db.js';
import { sqliteNamedState } from './named-state.js';
import type { DaemonState, Fact } from './repositories.js';
import { FACT_KEYS } from './state-keys.js';

/** The daemon's named facts, as rows of `watcher_state` under the keys of FACT_KEYS. */
export function sqliteDaemonState(db: Db): DaemonState {
  const facts = sqliteNamedState<unknown>(db, 'watcher_state');
  // The value was written through the same Fact, so it has the Fact's type.
  const fact = <T>(key: string): Fact<T> => ({ get: () => facts.get(key) as T | undefined, set: (value, now) => facts.set(key, value, now) });
  return {
    apiHealth: fact(FACT_KEYS.apiHealth),
    apiRetired: fact(FACT_KEYS.apiRetired),
    apiSwitched: fact(FACT_KEYS.apiSwitched),
    spotRetired: fact(FACT_KEYS.spotRetired),
    paymentRequired: fact(FACT_KEYS.paymentRequired),
    rulesLastCycle: fact(FACT_KEYS.rulesLastCycle),
    resumeKeys: fact(FACT_KEYS.resumeKeys),
    volumeDataCenters: fact(FACT_KEYS.volumeDataCenters),
    pollMode: fact(FACT_KEYS.pollMode),
    runningConfig: fact(FACT_KEYS.runningConfig),
  };
}
