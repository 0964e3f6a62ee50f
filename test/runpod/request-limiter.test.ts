import { afterEach, describe, expect, it } from 'vitest';
import { RunpodError } from '../../src/runpod/errors.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testMarket } from '../helpers/market.js';
import { VirtualClock } from '../helpers/virtual-clock.js';
import { busiestMinute, pacedDaemon } from '../helpers/paced-daemon.js';
import { waitUntil } from '../helpers/wait.js';

const RULE = 'rules:\n  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 1 }], pod: { imageName: runpod/pytorch } }\n';

let sim: RunpodSimulator | undefined;
let close: (() => void) | undefined;
afterEach(async () => {
  close?.();
  close = undefined;
  await sim?.close();
  sim = undefined;
});

async function start(yaml: string, rateLimit?: { perMinute: number }): Promise<{ clock: VirtualClock; sim: RunpodSimulator; d: ReturnType<typeof pacedDaemon> }> {
  const clock = new VirtualClock();
  sim = await RunpodSimulator.start(testMarket(rateLimit ? { rateLimit } : {}), { clock });
  const d = pacedDaemon(sim, yaml, clock);
  close = () => d.store.close();
  return { clock, sim, d };
}

/** Settles `promise` (as a result or an error) while the virtual clock runs. */
async function settled<T>(clock: VirtualClock, promise: Promise<T>): Promise<T | unknown> {
  let done = false;
  const outcome = promise.then(
    (value) => value,
    (error: unknown) => error,
  );
  void outcome.finally(() => (done = true));
  await clock.run(() => done);
  return outcome;
}

describe('the request limiter', () => {
  it('holds every call in the process under api.maxRequestsPerMinute, CLI-style reads and the rules deploys alike, and lets a deploy go before waiting reads', async () => {
    const { clock, sim, d } = await start(`api: { maxRequestsPerMinute: 6 }\n${RULE}`, { perMinute: 60 });
    // CLI-style calls sharing the process fill the minute; a cycle that will deploy waits behind them, and more CLI calls behind it.
    const cli = Array.from({ length: 6 }, () => d.api.listPods());
    await waitUntil(() => sim.requests.length === 6, { what: 'the first six CLI calls sent' });
    const cycle = d.watcher.tick();
    await waitUntil(() => d.limiter.queued === 1, { what: "the cycle's request (snapshot and pod list in one) queued" });
    cli.push(...Array.from({ length: 10 }, () => d.api.listPods()));
    await settled(clock, Promise.all([...cli, cycle]));

    expect(sim.requestsFor('podFindAndDeployOnDemand')).toHaveLength(1);
    expect(busiestMinute(sim.requests)).toBe(6);
    expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
    // The deploy was asked for while CLI reads waited, yet went out before them.
    const deployAt = sim.requests.findIndex((r) => r.rootFields.includes('podFindAndDeployOnDemand'));
    expect(sim.requests.slice(deployAt + 1).filter((r) => r.rootFields.includes('myself')).length).toBeGreaterThan(0);
    expect(d.limiter.counts).toEqual({ read: sim.requests.length - 1, mutation: 1 });
  });

  it("honours Retry-After: every call in the process is held until it has passed, then sent", async () => {
    const { clock, sim, d } = await start(RULE);
    sim.fault({ kind: 'status', status: 429, retryAfter: 45, op: 'gpuTypes' });
    const first = await settled(clock, d.api.snapshot([{ gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' }]));
    expect(first).toMatchObject({ kind: 'rate_limited', retryAfterMs: 45_000 });
    const seen = sim.requests.length;

    const held = await settled(clock, d.api.listPods());
    expect(held).toBeInstanceOf(RunpodError);
    expect(held).toMatchObject({ kind: 'rate_limited', mayHaveReachedRunpod: false, message: expect.stringContaining('(Retry-After)') });
    expect(sim.requests).toHaveLength(seen);

    await settled(clock, clock.sleep(45_000));
    await expect(settled(clock, d.api.listPods())).resolves.toEqual([]);
    expect(sim.requests).toHaveLength(seen + 1);
  });

  it('holds calls while a RateLimit window has no requests left (r=0), over GraphQL too, until it resets', async () => {
    const { clock, sim, d } = await start(RULE, { perMinute: 3 });
    for (let i = 0; i < 3; i++) await settled(clock, d.api.listPods());
    expect(sim.requests.at(-1)?.status).toBe(200);

    const held = await settled(clock, d.api.listPods());
    expect(held).toMatchObject({ kind: 'rate_limited', message: expect.stringContaining('(RateLimit: the minute window is used up)') });
    expect(sim.requests).toHaveLength(3);

    await settled(clock, clock.sleep(60_000));
    await expect(settled(clock, d.api.listPods())).resolves.toEqual([]);
    expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
  });

  it("lowers the cap to RunPod's announced RateLimit-Policy quota when it is below the configured one", async () => {
    const { clock, sim, d } = await start(RULE, { perMinute: 4 });
    expect(d.limiter.cap).toBe(30);
    await settled(clock, d.api.listPods());
    expect(d.limiter.cap).toBe(4);
    // Ten calls at once: four a minute (one already spent), never a 429, never a used-up window met.
    const calls = Array.from({ length: 10 }, () => d.api.listPods());
    const results = await settled(clock, Promise.allSettled(calls));
    expect(busiestMinute(sim.requests)).toBeLessThanOrEqual(4);
    expect(sim.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(results).toHaveLength(10);
  });
});
