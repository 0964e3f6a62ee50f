import type { Db } from './db.js';

export type DeployKind = 'on-demand' | 'spot' | 'resume' | 'bid-resume';
export type DeployStatus = 'pending' | 'succeeded' | 'refused' | 'failed' | 'unknown';

/** One deploy or resume the watcher sent (or, in a dry run, would have sent). */
export interface DeployRecord {
  id: string;
  rule: string;
  gpuTypeId: string;
  gpuCount: number;
  cloud: string;
  kind: DeployKind;
  /** $/GPU/hr: the bid for spot, the on-demand price otherwise. */
  price: number;
  status: DeployStatus;
  podId: string | null;
  error: string | null;
  dryRun: boolean;
  createdAt: number;
  completedAt: number | null;
}

/** How many of a rule's deploys of one kind reached one status (since the store was opened). */
export interface DeployCount {
  rule: string;
  kind: DeployKind;
  status: DeployStatus;
  n: number;
}

interface Row {
  id: string;
  rule: string;
  gpu_type_id: string;
  gpu_count: number;
  cloud: string;
  kind: DeployKind;
  price: number;
  status: DeployStatus;
  pod_id: string | null;
  error: string | null;
  dry_run: number;
  created_at: number;
  completed_at: number | null;
}

const toRecord = (r: Row): DeployRecord => ({
  id: r.id,
  rule: r.rule,
  gpuTypeId: r.gpu_type_id,
  gpuCount: r.gpu_count,
  cloud: r.cloud,
  kind: r.kind,
  price: r.price,
  status: r.status,
  podId: r.pod_id,
  error: r.error,
  dryRun: r.dry_run === 1,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

/**
 * The deploy journal. A deploy is written here, committed, before its mutation is sent, and
 * completed after the answer; a deploy left `pending` or `unknown` by a crash or a lost answer is
 * matched against RunPod's pod list by its id (the pod's GPU_WATCHER_DEPLOY env) before the rule
 * may act again, so a deploy is never sent twice.
 */
export class DeployJournal {
  private readonly sql;
  /** Entries that reached each status since the store was opened, keyed `rule\0kind\0status`: only ever grows. */
  private readonly reached = new Map<string, DeployCount>();

  /** `fence`, when given, is asked inside the transaction of every new entry (the database lease). */
  constructor(
    private readonly db: Db,
    private readonly fence?: { assertHeld(): void },
  ) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO deploys (id, rule, gpu_type_id, gpu_count, cloud, kind, price, status, pod_id, dry_run, created_at)
         VALUES ($id, $rule, $gpuTypeId, $gpuCount, $cloud, $kind, $price, 'pending', $podId, $dryRun, $createdAt)`,
      ),
      complete: db.prepare('UPDATE deploys SET status = $status, pod_id = coalesce($podId, pod_id), error = $error, completed_at = $now WHERE id = $id'),
      entry: db.prepare<[string], Pick<Row, 'rule' | 'kind' | 'status'>>('SELECT rule, kind, status FROM deploys WHERE id = ?'),
      unresolved: db.prepare<[], Row>("SELECT * FROM deploys WHERE status IN ('pending', 'unknown') AND dry_run = 0 ORDER BY created_at"),
      succeeded: db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM deploys WHERE rule = ? AND status = 'succeeded' AND dry_run = 0 AND kind IN ('on-demand', 'spot')"),
      recent: db.prepare<[number], Row>('SELECT * FROM deploys ORDER BY created_at DESC, rowid DESC LIMIT ?'),
    };
  }

  /**
   * Journals a deploy as pending; the commit happens before this returns. It throws, writing
   * nothing, when the fence says this process may no longer act or the write lock cannot be had:
   * the caller then sends nothing.
   */
  begin(record: Pick<DeployRecord, 'id' | 'rule' | 'gpuTypeId' | 'gpuCount' | 'cloud' | 'kind' | 'price' | 'dryRun' | 'createdAt'> & { podId?: string }): void {
    this.db
      .transaction(() => {
        this.fence?.assertHeld();
        this.sql.insert.run({ ...record, podId: record.podId ?? null, dryRun: record.dryRun ? 1 : 0 });
      })
      .immediate();
    this.count(record.rule, record.kind, 'pending');
  }

  complete(id: string, status: Exclude<DeployStatus, 'pending'>, now: number, fields: { podId?: string; error?: string } = {}): void {
    const before = this.sql.entry.get(id);
    this.sql.complete.run({ id, status, now, podId: fields.podId ?? null, error: fields.error ?? null });
    // Only a change of status is a transition: completing twice with the same outcome counts once.
    if (before && before.status !== status) this.count(before.rule, before.kind, status);
  }

  /** Real deploys whose outcome is not known yet, oldest first. */
  unresolved(): DeployRecord[] {
    return this.sql.unresolved.all().map(toRecord);
  }

  /** Successful real deploys of a rule over its life (what maxDeploys counts). */
  succeededCount(rule: string): number {
    return this.sql.succeeded.get(rule)?.n ?? 0;
  }

  /** How many entries reached each status since the store was opened, by rule and kind (a counter: it never goes down). */
  transitions(): DeployCount[] {
    return [...this.reached.values()];
  }

  private count(rule: string, kind: DeployKind, status: DeployStatus): void {
    const id = `${rule}\0${kind}\0${status}`;
    const row = this.reached.get(id) ?? { rule, kind, status, n: 0 };
    row.n++;
    this.reached.set(id, row);
  }

  /** The latest entries, newest first. */
  recent(limit: number): DeployRecord[] {
    return this.sql.recent.all(limit).map(toRecord);
  }
}
