import { afterEach, describe, expect, it } from 'vitest';
import { Pacer } from '../../src/loop/pacer.js';
import { buildStatus } from '../../src/status/build.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { createLogger } from '../../src/lib/logger.js';
import { testMarket } from '../helpers/market.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { baseTicks, gaps, pacedDaemon, snapshots } from '../helpers/paced-daemon.js';

const H100 = 'NVIDIA H100 80GB HBM3';
const PACING = 'poll: { schedule: "*/30 * * * * *", hungry: 5s, idle: 2m }\n';
const RULE = `rules:\n  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: ${H100}, maxPrice: 3 }], pod: { imageName: runpod/pytorch } }\n`;

let sim: RunpodSimulator | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await sim?.close();
  sim = undefined;
});

/** Starts a daemon's pacer and the schedule's ticks on the virtual clock; stopped after the test. */
async function paced(yaml: string): Promise<{ clock: VirtualClock; sim: RunpodSimulator; d: ReturnType<typeof pacedDaemon> }> {
  const clock = new VirtualClock();
  sim = await RunpodSimulator.start(testMarket({ rateLimit: { perMinute: 60 } }), { clock });
  const d = pacedDaemon(sim, yaml, clock);
  const ticking = new AbortController();
  const ticks = baseTicks(clock, d.pacer, 30_000, ticking.signal);
  d.pacer.start();
  stops.push(async () => {
    ticking.abort();
    await Promise.all([d.pacer.stop(), d.watcher.stop(), ticks]);
    d.store.close();
  });
  return { clock, sim, d };
}

describe('the polling mode', () => {
  it('is hungry while a rule waits for stock, base when it deployed, idle once nothing can act; shown in logs, status and the store', async () => {
    const { clock, sim, d } = await paced(PACING + RULE);
    await clock.run(() => snapshots(sim).length >= 5);
    expect(d.pacer.mode).toBe('hungry');
    // Every hungry interval is 5 s, varied by up to 10% (the random source here gives exactly 5 s).
    for (const gap of gaps(snapshots(sim).slice(1))) expect(gap).toBe(5_000);
    expect(d.logs.text()).toContain('polling mode: hungry (every 5s, +-10%)');

    sim.market.set({ gpu: H100, cloud: 'SECURE', stock: 'High', price: 2.5, counts: [1] });
    await clock.run(() => sim.requestsFor('podFindAndDeployOnDemand').length === 1);
    // The cycle that deployed asks for base (the rule may act again); the next finds it resting at maxPods: idle.
    await clock.run(() => d.pacer.mode === 'idle');
    const idleFrom = snapshots(sim).length;
    await clock.run(() => snapshots(sim).length >= idleFrom + 2);
    const [idleGap] = gaps(snapshots(sim).slice(idleFrom - 1));
    expect(idleGap).toBe(120_000);
    expect(d.store.daemon.pollMode.get()).toEqual({ mode: 'idle', since: expect.any(Number) });
    expect(buildStatus({ store: d.store, config: d.config, now: clock.now() }).polling).toEqual({ mode: 'idle', since: expect.any(String) });

    // The pod goes away: the rule waits for stock again, and the next cycle (after idle) makes it hungry.
    for (const pod of sim.market.livePods()) pod.desiredStatus = 'TERMINATED';
    sim.market.set({ gpu: H100, cloud: 'SECURE', stock: 'None' });
    await clock.run(() => d.pacer.mode === 'hungry');
  });

  it('is base while an alert is pending (not firing yet), idle once it fires and nothing else can act', async () => {
    const alert = `alerts:\n  - { name: cheap-h100, gpu: ${H100}, cloud: SECURE, when: { maxPrice: 3 } }\n`;
    const { clock, sim, d } = await paced(PACING + alert);
    await clock.run(() => snapshots(sim).length >= 3);
    expect(d.pacer.mode).toBe('base');
    // On the schedule: 30 s apart (each tick put off by the same per-process offset).
    expect(gaps(snapshots(sim).slice(1))).toEqual([30_000]);

    sim.market.set({ gpu: H100, cloud: 'SECURE', stock: 'High', price: 2.5, counts: [1] });
    await clock.run(() => d.pacer.mode === 'idle');
    expect(d.alerts.pending).toBe(false);
  });

  it('stays on the schedule when the mode asked for has no interval set', async () => {
    const { clock, sim, d } = await paced(`poll: { schedule: "*/30 * * * * *" }\n${RULE}`);
    await clock.run(() => snapshots(sim).length >= 4);
    expect(d.pacer.mode).toBe('base');
    expect(gaps(snapshots(sim).slice(1))).toEqual([30_000, 30_000]);
  });
});

describe('jitter', () => {
  const pacer = (random: () => number, basePeriodMs: number): Pacer =>
    new Pacer({ clock: new VirtualClock(), logger: createLogger('silent'), tick: async () => undefined, basePeriodMs, hungryMs: 5_000, idleMs: 120_000, random });

  it('puts base ticks off by a per-process offset below a quarter of the period and below 10 s', () => {
    expect(pacer(() => 0, 30_000).offsetMs).toBe(0);
    expect(pacer(() => 0.999_999, 30_000).offsetMs).toBe(7_499);
    expect(pacer(() => 0.999_999, 3_600_000).offsetMs).toBe(9_999);
    expect(pacer(() => 0.5, 2_000).offsetMs).toBe(250);
  });

  it('varies hungry and idle intervals by at most 10% either way', () => {
    expect(pacer(() => 0, 30_000).jittered(5_000)).toBe(4_500);
    expect(pacer(() => 0.999_999, 30_000).jittered(5_000)).toBe(5_500);
    const spread = pacer(Math.random, 30_000);
    for (let i = 0; i < 1_000; i++) {
      const ms = spread.jittered(120_000);
      expect(ms).toBeGreaterThanOrEqual(108_000);
      expect(ms).toBeLessThanOrEqual(132_000);
    }
  });
});
