import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { LeaseKeeper, leaseTtlMs, standbyPollMs } from '../../src/store/lease-keeper.js';
import { openStore } from '../../src/store/store.js';
import { capturedLogger } from '../helpers/capture.js';
import { exited, spawnTs, until } from '../helpers/child.js';

let path: string;
beforeEach(async () => {
  path = join(await mkdtemp(join(tmpdir(), 'gw-keeper-')), 'w.db');
});

function keeper(periodMs: number) {
  const store = openStore(path);
  const { logger, logs } = capturedLogger();
  return { store, logs, keeper: new LeaseKeeper({ store, clock: systemClock, logger, periodMs }) };
}

describe('the lease keeper', () => {
  it('derives the lease from the schedule: three periods, 15 s to 2 min; a standby looks every quarter period, 100 ms to 1 s', () => {
    expect([1_000, 30_000, 3_600_000].map(leaseTtlMs)).toEqual([15_000, 90_000, 120_000]);
    expect([200, 2_000, 30_000].map(standbyPollMs)).toEqual([100, 500, 1_000]);
  });

  it('renews between cycles on a timer, so a long cycle never lets the lease lapse', async () => {
    const { store, keeper: k } = keeper(1_000);
    expect(await k.take({ standby: false, signal: new AbortController().signal })).toBe(true);
    const first = store.lease.holder()?.renewedAt;
    k.startKeepAlive();
    await until(() => (store.lease.holder()?.renewedAt ?? 0) > (first ?? 0), 15_000);
    expect(store.lease.holder()?.expiresAt).toBe((store.lease.holder()?.renewedAt ?? 0) + 15_000);
    await k.release();
    expect(store.lease.holder()).toBeUndefined();
  }, 20_000);

  it('a standby stops waiting when asked to, without taking anything', async () => {
    openStore(path, { leaseIdentity: { host: 'box-b', pid: 4242, processStartedAt: 0, token: 'b' } }).lease.tryAcquire(Date.now(), 3_600_000);
    const { store, logs, keeper: k } = keeper(1_000);
    const stop = new AbortController();
    const waiting = k.take({ standby: true, signal: stop.signal });
    await until(() => logs.text().includes('standby: another gpu-watcher, pid 4242 on box-b'));
    stop.abort();
    expect(await waiting).toBe(false);
    expect(store.lease.holder()).toMatchObject({ host: 'box-b' });
  });

  it('skips a cycle while another program holds the lock past the wait, without stopping, and passes once it is gone', async () => {
    const { logs, keeper: k } = keeper(1_000);
    await k.take({ standby: false, signal: new AbortController().signal });
    const locker = spawnTs('test/fixtures/hold-lock.ts', [path, '2500']);
    await until(() => locker.output().includes('locked'), 15_000);
    const signal = new AbortController().signal;
    expect(await k.pass(signal)).toBe(false);
    expect(k.stopped).toBeUndefined();
    expect(logs.text()).toContain('gave up waiting before the cycle');
    expect(await exited(locker)).toBe(0);
    expect(await k.pass(signal)).toBe(true);
    await k.release();
  }, 20_000);
});
