import type { Clock } from '../../src/lib/clock.js';

/** A clock that only moves when told; `sleep` records the wait and returns at once, moving time on. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(private current = Date.UTC(2026, 10, 29, 10, 0, 0)) {}

  now(): number {
    return this.current;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.current += ms;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
