/**
 * The runs a side table of the history may continue, kept by the main intervals' rule: a run goes
 * on only from the poll just before, in this process. `previous` is what the last committed poll
 * left open; what this poll writes is noted with `carry`, and becomes `previous` at `commit` (the
 * poll's transaction committed) or is dropped with everything at `forget` (it did not).
 */
export class OpenRuns<Id, Run> {
  private open = new Map<Id, Run>();
  private next = new Map<Id, Run>();

  /** The run the last committed poll left open under `id`. */
  protected previous(id: Id): Run | undefined {
    return this.open.get(id);
  }

  /** Whether this poll already wrote `id` (an answer listing it twice counts once). */
  protected carried(id: Id): boolean {
    return this.next.has(id);
  }

  /** Notes the run `id` is in after this poll. */
  protected carry(id: Id, run: Run): void {
    this.next.set(id, run);
  }

  /** The poll committed: its runs become the ones the next poll may continue. */
  commit(): void {
    this.open = this.next;
    this.next = new Map();
  }

  /** The poll was not stored: the next one continues nothing. */
  forget(): void {
    this.open = new Map();
    this.next = new Map();
  }
}
