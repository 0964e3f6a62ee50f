import type { DaemonState } from './repositories.js';

/**
 * Every key under which the store keeps state across restarts, in one place: the names of the
 * daemon's facts (rows of `watcher_state`) and the lease's one row. Rules, resume entries and
 * alerts keep theirs under their config names, each kind in a table of its own.
 */
export const FACT_KEYS = {
  apiHealth: 'api_health',
  apiRetired: 'api_retired',
  apiSwitched: 'api_switched',
  spotRetired: 'spot_retired',
  paymentRequired: 'payment_required',
  rulesLastCycle: 'rules_last_cycle',
  resumeKeys: 'resume_keys',
  volumeDataCenters: 'volume_data_centers',
  pollMode: 'poll_mode',
  runningConfig: 'running_config',
} as const satisfies Record<keyof DaemonState, string>;

/** The id of the lease table's one row (the table allows no other). */
export const LEASE_ROW_ID = 1;
