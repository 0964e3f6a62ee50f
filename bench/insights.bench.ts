import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInsights } from '../src/insights/document.js';
import type { HistoryRepository } from '../src/store/repositories.js';
import { ms, quantile, timeMs } from './stats.js';
import { SIMULATED, simulatedDays, simulateHistory } from './store.bench.js';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const LOW = () => ({ floor: 'Low' as const, from: 'watch' });

/**
 * `insights` over the store benchmark's simulated year of 40 keys: time for one key and for all
 * (the whole window, in a zone with daylight saving), and the heap they need. The heap is sampled
 * right after each key's intervals are read (when the most is held) against a baseline taken after
 * a forced collection; the process's peak RSS includes the simulation itself.
 */
export async function insightsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-insights-'));
  console.log('insights:');
  try {
    const days = simulatedDays();
    const { store, seconds } = simulateHistory(join(dir, 'year.db'), days);
    const now = SIMULATED.end(days);
    const query = { since: SIMULATED.start, now, timeZone: 'Europe/Berlin' };
    const keys = store.history.keys();
    console.log(`  ${days} simulated days of 30 s polls on ${keys.length} keys (the store benchmark's market; simulated in ${seconds.toFixed(0)} s), the whole window, time zone Europe/Berlin`);

    const oneKey = keys[7]?.gpuTypeId;
    let intervals = 0;
    const one: number[] = [];
    for (let i = 0; i < 10; i++) {
      one.push(await timeMs(() => (intervals = buildInsights(store.history, LOW, { ...query, gpuTypeId: oneKey }).keys[0]?.observedMs ?? 0)));
    }
    const rows = store.history.intervalsOfKey(keys[7] ?? { gpuTypeId: '', gpuCount: 1, cloud: 'ALL' }, query.since, now).length;
    console.log(`    one key (${rows.toLocaleString('en')} intervals, ${(intervals / 86_400_000).toFixed(0)} days recorded), 10 runs: median ${ms(quantile(one, 0.5))}, max ${ms(Math.max(...one))}`);

    globalThis.gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peakHeap = baseline;
    const sampled: Pick<HistoryRepository, 'keys' | 'intervalsOfKey' | 'pollRuns'> = {
      keys: (gpu) => store.history.keys(gpu),
      pollRuns: (since) => store.history.pollRuns(since),
      intervalsOfKey: (key, since, until) => {
        const read = store.history.intervalsOfKey(key, since, until);
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        return read;
      },
    };
    const all: number[] = [];
    let total = 0;
    for (let i = 0; i < 3; i++) all.push(await timeMs(() => (total = buildInsights(sampled, LOW, query).keys.length)));
    console.log(`    all ${total} keys, 3 runs: median ${ms(quantile(all, 0.5))}, max ${ms(Math.max(...all))}`);
    console.log(
      `    memory: heap at most ${mb(peakHeap - baseline)} above the ${mb(baseline)} baseline (sampled after each key's read, ${globalThis.gc ? 'after a forced GC' : 'no forced GC: run with --expose-gc'}); process peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}, simulation included`,
    );
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
