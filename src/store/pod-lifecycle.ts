import { hasTable, type Db } from './db.js';
import type { LifecycleAction, LifecycleReason, LifecycleRecord, LifecycleRepository, LifecycleStart } from './repositories.js';

interface Row {
  pod_id: string;
  rule: string;
  deploy_id: string;
  config_hash: string;
  gpu_type_id: string;
  pod_name: string;
  pod_kind: 'on-demand' | 'spot';
  cost_per_hr: number;
  started_at: number;
  start_timeout_ms: number | null;
  ready_at: number | null;
  expires_at: number | null;
  expiry_warned: number;
  idle_since: number | null;
  idle_warned: number;
  util_at: number | null;
  util: number | null;
  action: LifecycleAction | null;
  action_reason: LifecycleReason | null;
  action_status: LifecycleRecord['actionStatus'];
  action_at: number | null;
  ended_at: number | null;
}

const toRecord = (r: Row): LifecycleRecord => ({
  podId: r.pod_id,
  rule: r.rule,
  deployId: r.deploy_id,
  configHash: r.config_hash,
  gpuTypeId: r.gpu_type_id,
  pod: { id: r.pod_id, name: r.pod_name, kind: r.pod_kind, costPerHr: r.cost_per_hr },
  startedAt: r.started_at,
  startTimeoutMs: r.start_timeout_ms,
  readyAt: r.ready_at,
  expiresAt: r.expires_at,
  expiryWarned: r.expiry_warned === 1,
  idleSince: r.idle_since,
  idleWarned: r.idle_warned === 1,
  utilAt: r.util_at,
  util: r.util,
  action: r.action,
  actionReason: r.action_reason,
  actionStatus: r.action_status,
  actionAt: r.action_at,
  endedAt: r.ended_at,
});

/** The fields `note` may change, by their column. */
const COLUMNS = {
  readyAt: 'ready_at',
  expiryWarned: 'expiry_warned',
  idleSince: 'idle_since',
  idleWarned: 'idle_warned',
  utilAt: 'util_at',
  util: 'util',
  endedAt: 'ended_at',
} as const;

/**
 * The pods the watcher follows after a deploy or resume, one row each. A lifecycle action is
 * journaled like a deploy: `beginAction` commits the intent (fenced by the lease) before the call is
 * sent, `completeAction` records the outcome, so a crash in between is settled from the pod list.
 */
export class PodLifecycle implements LifecycleRepository {
  private statements: ReturnType<PodLifecycle['prepare']> | undefined;

  constructor(
    private readonly db: Db,
    private readonly fence?: { assertHeld(): void },
  ) {}

  /** Prepared on first use: a reader of a database from before migration 8 only fails when it asks. */
  private get sql(): ReturnType<PodLifecycle['prepare']> {
    this.statements ??= this.prepare();
    return this.statements;
  }

  private prepare() {
    const { db } = this;
    return {
      insert: db.prepare(
        `INSERT INTO pod_lifecycle (pod_id, rule, deploy_id, config_hash, gpu_type_id, pod_name, pod_kind, cost_per_hr, started_at, start_timeout_ms, expires_at)
         VALUES ($podId, $rule, $deployId, $configHash, $gpuTypeId, $podName, $podKind, $costPerHr, $startedAt, $startTimeoutMs, $expiresAt)
         ON CONFLICT (pod_id) DO UPDATE SET rule = excluded.rule, deploy_id = excluded.deploy_id, config_hash = excluded.config_hash,
           pod_name = excluded.pod_name, pod_kind = excluded.pod_kind, cost_per_hr = excluded.cost_per_hr,
           started_at = excluded.started_at, start_timeout_ms = excluded.start_timeout_ms, expires_at = excluded.expires_at,
           ready_at = NULL, expiry_warned = 0, idle_since = NULL, idle_warned = 0, util_at = NULL, util = NULL,
           action = NULL, action_reason = NULL, action_status = NULL, action_at = NULL, ended_at = NULL`,
      ),
      open: db.prepare<[], Row>('SELECT * FROM pod_lifecycle WHERE ended_at IS NULL ORDER BY started_at'),
      get: db.prepare<[string], Row>('SELECT * FROM pod_lifecycle WHERE pod_id = ?'),
      ended: db.prepare<[string, string], Row>(
        "SELECT * FROM pod_lifecycle WHERE rule = ? AND config_hash = ? AND action_reason IN ('expired', 'idle') AND action_status = 'done' ORDER BY action_at",
      ),
      begin: db.prepare("UPDATE pod_lifecycle SET action = $action, action_reason = $reason, action_status = 'pending', action_at = $now WHERE pod_id = $podId"),
      complete: db.prepare("UPDATE pod_lifecycle SET action_status = $status, ended_at = CASE WHEN $status = 'done' THEN $now ELSE ended_at END WHERE pod_id = $podId"),
    };
  }

  track(start: LifecycleStart): void {
    const { pod, ...rest } = start;
    this.sql.insert.run({ ...rest, podName: pod.name, podKind: pod.kind, costPerHr: pod.costPerHr, startTimeoutMs: start.startTimeoutMs ?? null, expiresAt: start.expiresAt ?? null });
  }

  open(): LifecycleRecord[] {
    // A reader beside an older daemon may open a database from before migration 8: nothing followed.
    if (this.statements === undefined && !hasTable(this.db, 'pod_lifecycle')) return [];
    return this.sql.open.all().map(toRecord);
  }

  get(podId: string): LifecycleRecord | undefined {
    const row = this.sql.get.get(podId);
    return row ? toRecord(row) : undefined;
  }

  note(podId: string, fields: Partial<Pick<LifecycleRecord, keyof typeof COLUMNS>>): void {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    const sets = entries.map(([k]) => `${COLUMNS[k as keyof typeof COLUMNS]} = ?`).join(', ');
    const values = entries.map(([, v]) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    this.db.prepare(`UPDATE pod_lifecycle SET ${sets} WHERE pod_id = ?`).run(...values, podId);
  }

  beginAction(podId: string, action: LifecycleAction, reason: LifecycleReason, now: number): void {
    this.db
      .transaction(() => {
        this.fence?.assertHeld();
        this.sql.begin.run({ podId, action, reason, now });
      })
      .immediate();
  }

  completeAction(podId: string, status: 'done' | 'failed', now: number): void {
    this.sql.complete.run({ podId, status, now });
  }

  endedBy(rule: string, configHash: string): LifecycleRecord[] {
    return this.sql.ended.all(rule, configHash).map(toRecord);
  }
}
