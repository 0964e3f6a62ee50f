import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import type { Pod } from '../src/runpod/types.js';
import { accountSpend } from '../src/rules/spend.js';
import { spentSoFar } from '../src/store/spend.js';
import { openStore } from '../src/store/store.js';
import { ms, quantile, timeMs } from './stats.js';

const POLL_MS = 30_000;
const T0 = Date.UTC(2026, 0, 1);

/** A running watcher pod of rule `rule-<n % 5>`, started at T0. */
const pod = (n: number): Pod => ({
  id: `pod${n}`,
  name: `pod${n}`,
  desiredStatus: 'RUNNING',
  runtime: null,
  costPerHr: 0.79,
  gpuCount: 1,
  gpuTypeId: 'NVIDIA RTX A6000',
  gpuDisplayName: null,
  imageName: null,
  cloud: 'SECURE',
  kind: 'on-demand',
  watcher: { rule: `rule-${n % 5}`, deployId: `dep_${n}` },
  statusChangedAt: T0,
});

/**
 * What the spend accounting adds to a cycle: accountSpend over the pod list and the day's and
 * month's totals budget.maxSpend reads, on a file database that already holds a year of spend
 * (365 days x 5 rules) and `history` accounts of pods long gone.
 */
export async function spendBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-spend-'));
  const config = configSchema.parse({});
  try {
    for (const [live, history] of [[10, 1_000], [100, 10_000]] as const) {
      const store = openStore(join(dir, `spend-${live}-${history}.db`));
      const yearAgo = T0 - 365 * 86_400_000;
      store.spend.record(
        Array.from({ length: history }, (_, i) => ({ podId: `gone${i}`, rule: `rule-${i % 5}`, costPerHr: 0.79, billed: false, seenAt: yearAgo, dollars: 1 })),
        Array.from({ length: 365 * 5 }, (_, i) => ({ day: new Date(yearAgo + Math.floor(i / 5) * 86_400_000).toISOString().slice(0, 10), rule: `rule-${i % 5}`, dollars: 1 })),
      );
      const pods = Array.from({ length: live }, (_, n) => pod(n));
      const cycles = 1_000;
      const samples: number[] = [];
      for (let cycle = 1; cycle <= cycles; cycle++) {
        const now = T0 + cycle * POLL_MS;
        samples.push(await timeMs(() => {
          accountSpend(store.spend, config, pods, now);
          spentSoFar(store.spend, now);
        }));
      }
      store.close();
      console.log(`  spend per cycle, ${live} live watcher pods, ${history} old pod accounts, a year of daily totals, file DB, ${cycles} cycles: median ${ms(quantile(samples, 0.5))}, p99 ${ms(quantile(samples, 0.99))}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
