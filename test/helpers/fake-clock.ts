import type { Clock } from '../../src/lib/clock.js';

/**
 * A clock that only moves when told. `advance` and `sleep` move wall and monotonic time together,
 * as real time passing does; `stepWall` moves the wall clock alone, as NTP or an operator does.
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  private mono = 1_000_000;

  constructor(private current = Date.UTC(2026, 10, 29, 10, 0, 0)) {}

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.mono;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.advance(ms);
  }

  advance(ms: number): void {
    this.current += ms;
    this.mono += ms;
  }

  /** Steps the wall clock by `ms` (negative: back) while no real time passes. */
  stepWall(ms: number): void {
    this.current += ms;
  }
}
