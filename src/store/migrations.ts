/**
 * The database schema, as numbered migrations applied in order inside one transaction and tracked
 * by `PRAGMA user_version`. Never edit a migration that has shipped: add the next one.
 */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
-- Watched keys, so history rows carry a small integer instead of three strings.
CREATE TABLE market_keys (
  id INTEGER PRIMARY KEY,
  gpu_type_id TEXT NOT NULL,
  gpu_count INTEGER NOT NULL,
  cloud TEXT NOT NULL,
  UNIQUE (gpu_type_id, gpu_count, cloud)
);

-- Market history as change intervals: one row per key and unchanged state. A poll that sees the
-- same state only moves last_seen; any change, or a poll that failed in between, starts a new row.
-- Times are unix ms; prices are integer ten-thousandths of a dollar per GPU-hour; counts is a
-- bitmask (bit n-1 set: n GPUs deployable) or NULL when RunPod did not say. Clustered by key and
-- time (WITHOUT ROWID) so a key's history is one range read and rows stay small; pruning walks the
-- same key, so no second index is needed.
CREATE TABLE intervals (
  key_id INTEGER NOT NULL REFERENCES market_keys (id),
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  polls INTEGER NOT NULL,
  stock INTEGER NOT NULL,
  on_demand_e4 INTEGER,
  min_bid_e4 INTEGER,
  counts INTEGER,
  PRIMARY KEY (key_id, first_seen)
) WITHOUT ROWID;

-- Polls as runs of the same outcome: a healthy day is one row; failures show as their own runs.
CREATE TABLE poll_runs (
  id INTEGER PRIMARY KEY,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'partial', 'failed')),
  error_kind TEXT,
  error TEXT,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  polls INTEGER NOT NULL,
  duration_ms_total INTEGER NOT NULL,
  duration_ms_max INTEGER NOT NULL
);
CREATE INDEX poll_runs_by_last_at ON poll_runs (last_at);

-- The deploy journal: written before a mutation is sent, completed after its answer.
CREATE TABLE deploys (
  id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  gpu_type_id TEXT NOT NULL,
  gpu_count INTEGER NOT NULL,
  cloud TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('on-demand', 'spot', 'resume', 'bid-resume')),
  price REAL NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'refused', 'failed', 'unknown')),
  pod_id TEXT,
  error TEXT,
  dry_run INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX deploys_by_rule ON deploys (rule, created_at);
CREATE INDEX deploys_unresolved ON deploys (created_at) WHERE status IN ('pending', 'unknown') AND dry_run = 0;

-- Per-rule and per-alert state, as JSON owned by the rules and alerts code.
CREATE TABLE rule_state (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE alert_state (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL);

-- The event outbox: every event is kept here until each of its notifiers has accepted it.
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  time INTEGER NOT NULL,
  dry_run INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (time);
CREATE TABLE deliveries (
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  notifier TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  PRIMARY KEY (event_id, notifier)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

-- Small named facts the watcher keeps across restarts (API health, spot retired, ...).
CREATE TABLE watcher_state (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
`,
  },
  {
    version: 2,
    sql: `
-- The database lease: at most one row, the one daemon that may act on this database. Taken, renewed
-- and taken over only inside BEGIN IMMEDIATE transactions. token is random per holder, so a holder
-- tells itself from an earlier process that had the same pid; process_started_at tells an earlier
-- process with this pid (a restarted container's pid 1) from a second holder inside this one.
-- Times are unix ms.
CREATE TABLE lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  process_started_at INTEGER NOT NULL,
  acquired_at INTEGER NOT NULL,
  renewed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`,
  },
  {
    version: 3,
    sql: `
-- Resume entries' state, apart from the rules': a rule and a resume entry of the same name (one
-- renamed to the other's former name) must never read each other's state. Their rows move here
-- from rule_state: a resume entry's retryUntil is a number, a rule's an object of GPU types.
CREATE TABLE resume_state (name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at INTEGER NOT NULL);
INSERT INTO resume_state (name, state, updated_at)
  SELECT name, state, updated_at FROM rule_state
  WHERE CASE WHEN json_valid(state) THEN json_type(state, '$.retryUntil') END IN ('integer', 'real');
DELETE FROM rule_state WHERE name IN (SELECT name FROM resume_state);
`,
  },
  {
    version: 4,
    sql: `
-- REST v2's per-data-center stock, as change intervals beside the main ones: one row per key, data
-- center and unchanged stock level (stock as in intervals: 0 None .. 3 High), kept by the same
-- rules (a failed poll, a key or data center missing from a poll, or a restart starts a new row).
-- Clustered by key, data center and time (WITHOUT ROWID) so a key's rows are one range read, and
-- pruning walks the same key. GraphQL offers carry no data centers: nothing is written for them.
CREATE TABLE dc_intervals (
  key_id INTEGER NOT NULL REFERENCES market_keys (id),
  data_center TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  polls INTEGER NOT NULL,
  stock INTEGER NOT NULL,
  PRIMARY KEY (key_id, data_center, first_seen)
) WITHOUT ROWID;
`,
  },
  {
    version: 5,
    sql: `
-- GraphQL's fleet figures (lowestPrice's totalCount, rentedCount, rentalPercentage) as change
-- intervals beside the main ones, so that a rented count moving every poll never splits the stock
-- and price intervals. rentedCount moves nearly every poll, so a row keeps the range each figure
-- moved in (lo..hi) and a new row opens only when the fleet's size changes, a figure appears or goes
-- missing, or a range would grow wider than its band (rentedCount: 5% of the fleet, at least one
-- GPU; rentalPercentage, only when there is no rentedCount: 5% of its value). Percentages are
-- integer ten-thousandths, as RunPod gives them (scale undocumented). Same continuation rules as
-- intervals; REST v2 has no such figures: nothing is written for its offers.
CREATE TABLE fleet_intervals (
  key_id INTEGER NOT NULL REFERENCES market_keys (id),
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  polls INTEGER NOT NULL,
  total INTEGER,
  rented_lo INTEGER,
  rented_hi INTEGER,
  pct_lo_e4 INTEGER,
  pct_hi_e4 INTEGER,
  PRIMARY KEY (key_id, first_seen)
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    sql: `
-- A key may carry machine filters (a rule's pod's CUDA versions, data center, ...): filters is their
-- canonical JSON, '' for none, so an unfiltered key keeps its row and its history. The unique key
-- gains the column, and SQLite cannot change a table's constraints in place: the table is rebuilt
-- with the same ids. Deferred foreign keys let intervals and dc_intervals point at it meanwhile;
-- every row is back before the commit checks them.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE market_keys_before AS SELECT id, gpu_type_id, gpu_count, cloud FROM market_keys;
DROP TABLE market_keys;
CREATE TABLE market_keys (
  id INTEGER PRIMARY KEY,
  gpu_type_id TEXT NOT NULL,
  gpu_count INTEGER NOT NULL,
  cloud TEXT NOT NULL,
  filters TEXT NOT NULL DEFAULT '',
  UNIQUE (gpu_type_id, gpu_count, cloud, filters)
);
INSERT INTO market_keys (id, gpu_type_id, gpu_count, cloud) SELECT id, gpu_type_id, gpu_count, cloud FROM market_keys_before;
DROP TABLE market_keys_before;
`,
  },
  {
    version: 7,
    sql: `
-- Spend: what the watcher's pods cost (costPerHr x time billed, from the pod list). pod_spend is each
-- pod's account: its rule (or resume entry), its rate and whether it was billed when last seen, the
-- time it is accounted up to, and its dollars so far. spend_days holds the same dollars by UTC day
-- and rule ('YYYY-MM-DD'), for budget.maxSpend and the totals. Both move in one transaction per
-- cycle: a crash leaves the old accounted-up-to times, so no stretch is ever counted twice.
CREATE TABLE pod_spend (
  pod_id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  cost_per_hr REAL NOT NULL,
  billed INTEGER NOT NULL,
  seen_at INTEGER NOT NULL,
  dollars REAL NOT NULL
);
CREATE TABLE spend_days (
  day TEXT NOT NULL,
  rule TEXT NOT NULL,
  dollars REAL NOT NULL,
  PRIMARY KEY (day, rule)
) WITHOUT ROWID;
`,
  },
  {
    version: 8,
    sql: `
-- Each pod a rule deployed (or a resume entry resumed), followed after the deploy: when it became
-- ready, when its life ends (ttl), how idle its GPUs have been, and the one lifecycle action the
-- watcher takes on it (stop or terminate, for a start timeout, its end, or idleness). The action is
-- journaled like a deploy: action_status 'pending' is committed before the call is sent, 'done' or
-- 'failed' after; a pending one is settled from the pod list after a crash. ended_at is set once
-- the watcher no longer follows the pod. Times are unix ms.
CREATE TABLE pod_lifecycle (
  pod_id TEXT PRIMARY KEY,
  rule TEXT NOT NULL,
  deploy_id TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  gpu_type_id TEXT NOT NULL,
  pod_name TEXT NOT NULL,
  pod_kind TEXT NOT NULL,
  cost_per_hr REAL NOT NULL,
  started_at INTEGER NOT NULL,
  start_timeout_ms INTEGER,
  ready_at INTEGER,
  expires_at INTEGER,
  expiry_warned INTEGER NOT NULL DEFAULT 0,
  idle_since INTEGER,
  idle_warned INTEGER NOT NULL DEFAULT 0,
  util_at INTEGER,
  util REAL,
  action TEXT CHECK (action IN ('stop', 'terminate')),
  action_reason TEXT CHECK (action_reason IN ('start_timeout', 'expired', 'idle')),
  action_status TEXT CHECK (action_status IN ('pending', 'done', 'failed')),
  action_at INTEGER,
  ended_at INTEGER
);
CREATE INDEX pod_lifecycle_open ON pod_lifecycle (rule) WHERE ended_at IS NULL;
`,
  },
];
