import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Clock } from '../../src/lib/clock.js';

interface Timer {
  due: number;
  seq: number;
  fire: () => void;
}

/**
 * A clock on virtual time: `sleep` waits until the time is moved past its end, and time moves only
 * when `advanceToNext` (or `run`) moves it, to the next sleeper's end. With real I/O beside it
 * (HTTP to the simulator), `run` waits for the I/O to settle before it moves time, so a program
 * that sleeps minutes between requests runs in as long as its requests take.
 */
export class VirtualClock implements Clock {
  private mono = 1_000_000;
  private timers: Timer[] = [];
  private seq = 0;
  private inflight = 0;

  constructor(private wall = Date.UTC(2026, 10, 29, 10, 0, 0)) {}

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason as Error);
      };
      const timer: Timer = {
        due: this.mono + Math.max(0, ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
    });
  }

  /** Sleepers waiting. */
  get sleepers(): number {
    return this.timers.length;
  }

  /** Moves time to the next sleeper's end and wakes every sleeper due then; false when none sleeps. */
  advanceToNext(): boolean {
    const next = this.timers[0];
    if (!next) return false;
    this.moveTo(next.due);
    const due = this.timers.filter((t) => t.due <= this.mono);
    this.timers = this.timers.slice(due.length);
    for (const timer of due) timer.fire();
    return true;
  }

  /** A `fetch` that the clock waits for before moving time; the body is read before it resolves. */
  readonly fetch: typeof fetch = async (input, init) => {
    this.inflight++;
    try {
      const response = await fetch(input, init);
      const body = await response.arrayBuffer();
      return new Response(response.status === 204 ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } finally {
      this.inflight--;
    }
  };

  /**
   * Runs until `done` holds: waits for the program to settle (no request through `fetch` in
   * flight, nothing new for a few turns of the event loop), then moves time to the next sleeper.
   * Fails when nothing sleeps and `done` does not hold, or past `limitMs` of virtual time.
   */
  async run(done: () => boolean, limitMs = 86_400_000): Promise<void> {
    const end = this.mono + limitMs;
    while (!done()) {
      await this.settle();
      if (done()) return;
      if (!this.advanceToNext()) throw new Error('virtual clock: nothing sleeps, and the condition does not hold');
      if (this.mono > end) throw new Error(`virtual clock: the condition did not hold within ${limitMs} ms of virtual time`);
    }
  }

  private async settle(): Promise<void> {
    let quiet = 0;
    let seen = -1;
    while (quiet < 3) {
      await nextTurn();
      const state = this.inflight * 1_000_003 + this.timers.length * 31 + this.seq;
      if (this.inflight > 0 || state !== seen) {
        quiet = 0;
        seen = state;
        if (this.inflight > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      } else {
        quiet++;
      }
    }
  }

  private moveTo(mono: number): void {
    this.wall += mono - this.mono;
    this.mono = mono;
  }
}
