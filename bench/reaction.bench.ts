import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/logger.js';
import { createDaemon } from '../src/daemon/daemon.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { ms, quantile, timeMs } from './stats.js';

const TRIALS = 200;
const GPU = 'NVIDIA RTX A6000';

/**
 * Reaction latency: from the simulator writing the snapshot answer that shows stock, to it reading
 * the deploy mutation, measured on the simulator's own clock; beside a bare loopback round trip.
 */
export async function reactionBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-react-'));
  const key = 'rpa_bench';
  const sim = await RunpodSimulator.start({ apiKey: key, gpus: [{ id: GPU, secure: { stock: 'None', price: 0.79, minBid: 0.5, counts: [1] } }] });
  const config = parseConfig(
    `rules:\n  - { name: bench, cloud: SECURE, spot: never, candidates: [{ gpu: ${GPU}, maxPrice: 0.80 }], pod: { imageName: runpod/pytorch } }\n`,
    'bench',
    { RUNPOD_API_URL: sim.url },
  );
  const { watcher, store, api } = createDaemon({ config, dbPath: join(dir, 'react.db'), apiKey: key, dryRun: false, clock: systemClock, logger: createLogger('silent') });

  const reactions: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'None' });
    await watcher.tick();
    sim.market.set({ gpu: GPU, cloud: 'SECURE', stock: 'High' });
    sim.requests.splice(0);
    await watcher.tick();
    const snapshot = sim.requests.find((r) => r.rootFields.includes('gpuTypes'));
    const deploy = sim.requests.find((r) => r.rootFields.includes('podFindAndDeployOnDemand'));
    if (!snapshot || !deploy) throw new Error(`trial ${trial}: no deploy followed the stock`);
    reactions.push(deploy.receivedAt - snapshot.answeredAt);
    for (const pod of sim.market.livePods()) pod.desiredStatus = 'TERMINATED';
  }
  const trips: number[] = [];
  for (let i = 0; i < TRIALS; i++) trips.push(await timeMs(() => api.getPod('none')));
  await watcher.stop();
  store.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });

  console.log(`reaction: ${TRIALS} trials, 1 rule, stock None -> High, file DB (the journal write commits before the mutation is sent)`);
  console.log(`  snapshot answered -> deploy received: p50 ${ms(quantile(reactions, 0.5))}, p99 ${ms(quantile(reactions, 0.99))}`);
  console.log(`  bare loopback round trip (getPod): p50 ${ms(quantile(trips, 0.5))}, p99 ${ms(quantile(trips, 0.99))}; goal: reaction p99 <= round trip + 2 ms`);
}
