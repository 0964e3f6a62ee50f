import { RunpodGraphqlClient } from '../src/runpod/graphql/client.js';
import { buildSnapshotQuery, parseSnapshot } from '../src/runpod/graphql/snapshot-query.js';
import type { WatchKey } from '../src/runpod/types.js';
import { RunpodSimulator } from '../src/sim/server.js';
import { ms, quantile, timeMs } from './stats.js';

const PARSE_RUNS = 2_000;
const ROUND_TRIPS = 300;

/** Snapshot cost for 1, 10 and 50 keys against the simulator on loopback. */
export async function snapshotBench(): Promise<void> {
  console.log(`snapshot: keys = distinct (GPU type, count=1|2, SECURE); parse = JSON.parse + zod, median of ${PARSE_RUNS}; round trip = median of ${ROUND_TRIPS} over loopback`);
  for (const size of [1, 10, 50]) {
    const sim = await RunpodSimulator.start({});
    const keys: WatchKey[] = [];
    for (let i = 0; i < size; i++) {
      sim.market.set({ gpu: `GPU ${i}`, cloud: 'SECURE', stock: 'High', price: 0.5 + i / 100, minBid: 0.3, counts: [1, 2, 4] });
      keys.push({ gpuTypeId: `GPU ${i}`, gpuCount: 1 + (i % 2), cloud: 'SECURE' });
    }
    const client = new RunpodGraphqlClient({ url: sim.url, timeoutMs: 10_000 });

    const trips: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) trips.push(await timeMs(() => client.snapshot(keys)));
    const requestsPerSnapshot = sim.requests.length / ROUND_TRIPS;

    const query = buildSnapshotQuery(keys, true);
    const res = await fetch(sim.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: query.document, variables: query.variables }) });
    const body = await res.text();
    const parses: number[] = [];
    for (let i = 0; i < PARSE_RUNS; i++) {
      parses.push(
        await timeMs(() => {
          const answer = JSON.parse(body) as { data: Record<string, unknown> };
          if (parseSnapshot(keys, answer.data, [], true).offers.length !== size) throw new Error('bench answer did not parse');
        }),
      );
    }
    console.log(
      `  ${String(size).padStart(2)} keys: ${requestsPerSnapshot} HTTP request(s)/snapshot, answer ${body.length} bytes, ` +
        `parse median ${ms(quantile(parses, 0.5))} (p99 ${ms(quantile(parses, 0.99))}), round trip median ${ms(quantile(trips, 0.5))}`,
    );
    await sim.close();
  }
}
