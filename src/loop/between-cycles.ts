/**
 * Work (a config reload) that must not land in the middle of a cycle: run at once when no cycle
 * is in flight, else held until the one in flight ends and run before another can start.
 */
export class BetweenCycles {
  private readonly held: (() => void)[] = [];

  /** Runs `work` now when `busy` is false, else when `release` is next called. */
  run<T>(busy: boolean, work: () => T): Promise<T> {
    if (!busy) return Promise.resolve(work());
    return new Promise<T>((resolve, reject) =>
      this.held.push(() => {
        try {
          resolve(work());
        } catch (error) {
          reject(error as Error);
        }
      }),
    );
  }

  /** Runs the held work, in order; called as a cycle ends, before the next tick can start one. */
  release(): void {
    for (const work of this.held.splice(0)) work();
  }
}
