import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunpodGraphqlClient } from '../src/runpod/graphql/client.js';
import type { Clock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { openStore } from '../src/store/store.js';
import { Watcher } from '../src/loop/watcher.js';
import { AuthGate } from '../src/loop/auth-gate.js';
import { benchKeys } from './market-sim.js';

const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;

function settledMemory(): NodeJS.MemoryUsage {
  // Run with --expose-gc (npm run bench does) so the figures are not whatever the GC left lying.
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage();
}

/** RSS before and after many in-process cycles against the simulator: does the loop leak? */
export async function loopBench(): Promise<void> {
  const cycles = Number(process.env.BENCH_CYCLES ?? 100_000);
  // Warm-up cycles first, so the figures compare a settled process before and after `cycles` more.
  const warmup = Math.min(5_000, Math.floor(cycles / 10));
  const dir = mkdtempSync(join(tmpdir(), 'gw-loop-'));
  const sim = await RunpodSimulator.start({});
  const keys = benchKeys(10);
  keys.forEach((k) => sim.market.set({ gpu: k.gpuTypeId, cloud: 'SECURE', stock: 'High', price: 0.79, minBid: 0.41, counts: [1, 2] }));
  let now = Date.UTC(2026, 0, 1);
  const clock: Clock = { now: () => now, monotonic: () => now, sleep: async () => undefined };
  const store = openStore(join(dir, 'loop.db'));
  const logger = createLogger('silent');
  const api = new RunpodGraphqlClient({ url: sim.url, timeoutMs: 10_000, clock });
  const watcher = new Watcher({ api, store, clock, logger, keys, notifiers: [], retentionMs: 90 * 86_400_000, auth: new AuthGate(false, logger, clock) });

  const started = Date.now();
  let before = settledMemory();
  for (let cycle = 0; cycle < warmup + cycles; cycle++) {
    if (cycle === warmup) before = settledMemory();
    // Every 20 cycles one key changes, and a failing poll comes every 500: both paths run.
    if (cycle % 20 === 0) sim.market.set({ gpu: keys[cycle % keys.length]?.gpuTypeId ?? '', cloud: 'SECURE', stock: cycle % 40 === 0 ? 'Low' : 'High' });
    if (cycle % 500 === 499) sim.fault({ kind: 'status', status: 500, times: 3 });
    await watcher.tick();
    now += 30_000;
    if (cycle % 1_000 === 0) sim.requests.splice(0);
  }
  const after = settledMemory();
  const seconds = (Date.now() - started) / 1000;
  const total = warmup + cycles;
  await watcher.stop();
  store.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  const growth = ((after.rss - before.rss) / before.rss) * 100;
  console.log(`loop: ${cycles.toLocaleString('en')} in-process cycles, 10 keys, simulator on loopback, file DB; ${((seconds / total) * 1000).toFixed(2)} ms per cycle`);
  console.log(
    `  RSS after ${warmup.toLocaleString('en')} warm-up cycles ${mib(before.rss)}, after ${cycles.toLocaleString('en')} more ${mib(after.rss)} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %, goal within 5 %); heap used ${mib(before.heapUsed)} -> ${mib(after.heapUsed)}`,
  );
}
