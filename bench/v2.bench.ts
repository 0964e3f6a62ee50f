import { RunpodGraphqlClient } from '../src/runpod/graphql/client.js';
import { RunpodRestClient } from '../src/runpod/rest/client.js';
import type { RunpodApi, WatchKey } from '../src/runpod/types.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { ms, quantile, timeMs } from './stats.js';

const ROUND_TRIPS = 200;
/** Any key does for a simulator started without one; v2 answers nothing without a key. */
const BENCH_KEY = 'rpa_bench';
/** The (gpuCount, cloud) pairs keys are spread over, in this order. */
const PAIRS: readonly { gpuCount: number; cloud: 'SECURE' | 'COMMUNITY' }[] = [
  { gpuCount: 1, cloud: 'SECURE' },
  { gpuCount: 1, cloud: 'COMMUNITY' },
  { gpuCount: 2, cloud: 'SECURE' },
  { gpuCount: 2, cloud: 'COMMUNITY' },
];

/**
 * A market snapshot under REST v2 beside GraphQL, against the simulator on loopback: for 1, 10 and
 * 50 keys spread evenly over 1, 2 and 4 (gpuCount, cloud) pairs, the HTTP requests that really
 * reached the simulator per snapshot (its own record, not what the client meant to send) and the
 * round trip. One key is one pair, so 1 key over 2 or 4 pairs is skipped.
 */
export async function v2Bench(): Promise<void> {
  console.log(`v2: keys spread over (gpuCount, cloud) pairs; requests = what reached the simulator per snapshot; round trip = median (p99) of ${ROUND_TRIPS} over loopback`);
  for (const size of [1, 10, 50]) {
    for (const pairs of [1, 2, 4]) {
      const label = `${String(size).padStart(2)} key${size > 1 ? 's' : ''} / ${pairs} pair${pairs > 1 ? 's' : ''}`;
      if (pairs > size) {
        console.log(`  ${label}: skipped (one key is one pair)`);
        continue;
      }
      // A limit no bench reaches: a 429 here would measure the limiter, not the snapshot.
      const sim = await RunpodSimulator.start({ restRateLimit: { minute: 1_000_000 } });
      const keys = spread(sim, size, pairs);
      const rest = await measure(sim, new RunpodRestClient({ url: sim.restUrl, apiKey: BENCH_KEY, timeoutMs: 10_000 }), keys);
      const graphql = await measure(sim, new RunpodGraphqlClient({ url: sim.url, apiKey: BENCH_KEY, timeoutMs: 10_000 }), keys);
      console.log(`  ${label}: v2 ${rest.requests} request(s)/snapshot, ${rest.trip}; GraphQL ${graphql.requests} request(s)/snapshot, ${graphql.trip}`);
      await sim.close();
    }
  }
}

/** `size` keys, each its own GPU type in stock on both clouds, spread evenly over the first `pairs` pairs. */
function spread(sim: RunpodSimulator, size: number, pairs: number): WatchKey[] {
  return Array.from({ length: size }, (_, i) => {
    const gpu = `GPU ${i}`;
    sim.market.set({ gpu, cloud: 'SECURE', stock: 'High', price: 1 + i / 100, minBid: 0.5, counts: [1, 2, 4] });
    sim.market.set({ gpu, cloud: 'COMMUNITY', stock: 'Low', price: 0.5 + i / 100, minBid: 0.3, counts: [1, 2] });
    const pair = PAIRS[i % pairs] ?? PAIRS[0];
    return { gpuTypeId: gpu, gpuCount: pair?.gpuCount ?? 1, cloud: pair?.cloud ?? 'SECURE' };
  });
}

/** Requests per snapshot (as the simulator recorded them) and the round trip, for one client. */
async function measure(sim: RunpodSimulator, api: RunpodApi, keys: readonly WatchKey[]): Promise<{ requests: number; trip: string }> {
  const before = sim.requests.length;
  const trips: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    trips.push(
      await timeMs(async () => {
        const { offers } = await api.snapshot(keys);
        if (offers.length !== keys.length) throw new Error(`bench snapshot returned ${offers.length} offers for ${keys.length} keys`);
      }),
    );
  }
  return { requests: (sim.requests.length - before) / ROUND_TRIPS, trip: `round trip ${ms(quantile(trips, 0.5))} (p99 ${ms(quantile(trips, 0.99))})` };
}
