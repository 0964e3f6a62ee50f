import { parseConfig } from '../src/config/load.js';
import { createDaemon, type Daemon } from '../src/daemon/daemon.js';
import { createLogger } from '../src/lib/logger.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { VirtualClock } from '../test/helpers/virtual-clock.js';
import { quantile } from './stats.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 200);
const GPU = 'NVIDIA H100 80GB HBM3';
const KEY = 'rpa_bench';
const SIM_PER_MINUTE = 60;
const RULE = `rules:\n  - { name: bench, cloud: SECURE, spot: never, candidates: [{ gpu: ${GPU}, maxPrice: 3 }], pod: { imageName: runpod/pytorch } }\n`;
const VARIANTS = [
  { name: 'fixed 30 s', poll: 'poll: { schedule: "*/30 * * * * *" }\n' },
  { name: 'adaptive (hungry 5s, idle 2m)', poll: 'poll: { schedule: "*/30 * * * * *", hungry: 5s, idle: 2m }\n' },
];

/** A small seeded generator (mulberry32), so both variants meet the same market and runs repeat. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Run {
  clock: VirtualClock;
  sim: RunpodSimulator;
  daemon: Daemon;
  stop: () => Promise<void>;
}

/** A daemon paced as configured, on a virtual clock, against a simulator enforcing RunPod's example limit; node-cron's ticks played on the same clock. */
async function startRun(poll: string): Promise<Run> {
  const clock = new VirtualClock();
  const sim = await RunpodSimulator.start(
    { apiKey: KEY, rateLimit: { perMinute: SIM_PER_MINUTE }, gpus: [{ id: GPU, secure: { stock: 'None', price: 2.5, minBid: null, counts: [1] } }] },
    { clock },
  );
  const config = parseConfig(poll + RULE, 'bench', { RUNPOD_API_URL: sim.url });
  const daemon = createDaemon({ config, dbPath: ':memory:', apiKey: KEY, dryRun: false, clock, logger: createLogger('silent'), random: seeded(7), fetch: clock.fetch });
  const ticking = new AbortController();
  const ticks = (async () => {
    try {
      for (;;) {
        await clock.sleep(30_000, ticking.signal);
        daemon.pacer.baseTick();
      }
    } catch {
      // stopped
    }
  })();
  daemon.pacer.start();
  return {
    clock,
    sim,
    daemon,
    stop: async () => {
      ticking.abort();
      await Promise.all([daemon.pacer.stop(), daemon.watcher.stop(), ticks]);
      daemon.store.close();
      await sim.close();
    },
  };
}

const deploys = (sim: RunpodSimulator): number => sim.requestsFor('podFindAndDeployOnDemand').length;

/** The pod goes away and stock is gone: the rule waits for stock again. */
function emptyMarket(sim: RunpodSimulator): void {
  for (const pod of sim.market.livePods()) pod.desiredStatus = 'TERMINATED';
  sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'None' });
}

/** Waits `ms` of virtual time, then does `then`. */
async function after(run: Run, ms: number, then: () => void): Promise<void> {
  let done = false;
  void run.clock.sleep(ms).then(() => {
    then();
    done = true;
  });
  await run.clock.run(() => done);
}

/** 200 trials: stock appears at a random moment 2.5 to 4 minutes after the last pod went; the delay until the deploy reaches the simulator. */
async function trials(poll: string): Promise<{ delays: number[]; perMinute: number; refused: number; wallS: number; virtualMin: number }> {
  const wallStart = performance.now();
  const run = await startRun(poll);
  const market = seeded(42);
  const delays: number[] = [];
  const start = run.clock.monotonic();
  for (let trial = 0; trial < TRIALS; trial++) {
    let appearedAt = 0;
    await after(run, 150_000 + market() * 90_000, () => {
      run.sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'High' });
      appearedAt = run.clock.now();
    });
    await run.clock.run(() => deploys(run.sim) === trial + 1, 3_600_000);
    const deploy = run.sim.requestsFor('podFindAndDeployOnDemand').at(-1);
    delays.push((deploy?.clockAt ?? Number.NaN) - appearedAt);
    emptyMarket(run.sim);
  }
  const virtualMin = (run.clock.monotonic() - start) / 60_000;
  const result = { delays, perMinute: run.sim.requests.length / virtualMin, refused: run.sim.requests.filter((r) => r.status === 429).length, virtualMin };
  await run.stop();
  return { ...result, wallS: (performance.now() - wallStart) / 1000 };
}

/** A virtual day, hungry 10% of it: each hour the pod runs 54 minutes, then is gone and the rule waits 6 minutes until stock comes back. */
async function day(poll: string): Promise<{ requests: number; refused: number; wallS: number }> {
  const wallStart = performance.now();
  const run = await startRun(poll);
  run.sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'High' });
  await run.clock.run(() => deploys(run.sim) === 1);
  const from = run.sim.requests.length;
  for (let hour = 0; hour < 24; hour++) {
    await after(run, 54 * 60_000, () => emptyMarket(run.sim));
    await after(run, 6 * 60_000, () => run.sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'High' }));
  }
  const requests = run.sim.requests.length - from;
  const refused = run.sim.requests.filter((r) => r.status === 429).length;
  await run.stop();
  return { requests, refused, wallS: (performance.now() - wallStart) / 1000 };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/**
 * Time to GPU: a rule waits for an H100; stock appears at random moments; how long until the
 * deploy reaches the simulator, and how many requests it costs, for fixed 30 s polling and for
 * adaptive polling, against a simulator enforcing 60 requests a minute. Virtual time: real HTTP to
 * the simulator, the daemon's clock moved by the benchmark, so hours pass in seconds.
 */
export async function timeToGpuBench(): Promise<void> {
  console.log(
    `time-to-GPU: VIRTUAL TIME (real HTTP to the simulator on loopback; the daemon's injected clock is moved from sleeper to sleeper). ${TRIALS} trials, 1 rule (1 candidate, maxPods 1), stock appearing 2.5 to 4 min after the last pod went; simulator limit ${SIM_PER_MINUTE}/min (429 + Retry-After past it); api.maxRequestsPerMinute 30`,
  );
  for (const variant of VARIANTS) {
    const t = await trials(variant.poll);
    console.log(
      `  ${variant.name}: stock -> deploy at the simulator p50 ${s(quantile(t.delays, 0.5))}, p99 ${s(quantile(t.delays, 0.99))}, max ${s(Math.max(...t.delays))}; ${t.perMinute.toFixed(2)} requests/min over ${t.virtualMin.toFixed(0)} virtual min; 429s: ${t.refused}; wall ${t.wallS.toFixed(1)} s`,
    );
  }
  console.log('  a virtual day hungry 10% of it (each hour: pod live 54 min, then the rule waits 6 min for stock):');
  for (const variant of VARIANTS) {
    const d = await day(variant.poll);
    console.log(`    ${variant.name}: ${d.requests} requests/day; 429s: ${d.refused}; wall ${d.wallS.toFixed(1)} s`);
  }
  console.log('  goal: adaptive p50 < 4 s, 0 x 429, fewer requests/day than fixed 30 s');
}
