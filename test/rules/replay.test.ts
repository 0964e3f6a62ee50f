import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { HistoryInterval } from '../../src/store/history.js';
import { openStore } from '../../src/store/store.js';
import { replay } from '../../src/rules/replay.js';
import { runCli } from '../../src/commands/program.js';
import { testIo } from '../helpers/capture.js';
import type { GpuOffer, StockLevel } from '../../src/runpod/types.js';

const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const MIN = 60_000;
const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';

function interval(gpu: string, from: number, to: number, stock: StockLevel, onDemand: number | null, minBid: number | null = null): HistoryInterval {
  return { key: { gpuTypeId: gpu, gpuCount: 1, cloud: 'SECURE' }, firstSeen: T0 + from * MIN, lastSeen: T0 + to * MIN, polls: 1, stock, onDemandPrice: onDemand, minBidPrice: minBid, availableGpuCounts: [1, 2] };
}

const config = (rules: string, extra = '') => parseConfig(`${extra}\nrules:\n${rules}`, 't', {});
const RULE = `  - { name: trainer, cloud: SECURE, candidates: [{ gpu: ${A6000}, maxPrice: 0.80, bid: 0.45 }, { gpu: ${A5000}, maxPrice: 0.40 }], pod: { imageName: i } }`;

describe('replay', () => {
  it('deploys when stock comes back, once for maxPods 1, at the price of that moment', () => {
    const result = replay(config(RULE), [interval(A6000, 0, 59, 'None', 0.79, 0.5), interval(A6000, 60, 180, 'High', 0.79, 0.5)], T0, T0 + 240 * MIN);
    expect(result.deploys).toEqual([{ time: T0 + 60 * MIN, rule: 'trainer', gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE', kind: 'on-demand', pricePerGpu: 0.79, costPerHr: 0.79 }]);
    expect(result.totalPerHr).toBeCloseTo(0.79);
    expect(result.totalCost).toBeCloseTo(0.79 * 3);
  });

  it('falls back, and takes spot when the minimum bid drops below the bid', () => {
    const history = [interval(A6000, 0, 100, 'Low', 0.79, 0.3), interval(A5000, 0, 100, 'High', 0.36)];
    expect(replay(config(RULE), history, T0, T0 + 100 * MIN).deploys.map((d) => [d.gpuTypeId, d.kind])).toEqual([[A5000, 'on-demand']]);
    const spot = [interval(A6000, 0, 100, 'High', 0.79, 0.41)];
    expect(replay(config(RULE), spot, T0, T0 + 100 * MIN).deploys.map((d) => [d.kind, d.pricePerGpu])).toEqual([['spot', 0.45]]);
  });

  it('sees no data in a gap, and respects maxPods, maxDeploys and the budget', () => {
    const gapped = [interval(A6000, 0, 10, 'None', 0.79), interval(A6000, 20, 30, 'High', 0.9)];
    expect(replay(config(RULE), gapped, T0, T0 + 60 * MIN).deploys).toEqual([]);
    const many = config(`  - { name: trainer, cloud: SECURE, maxPods: 5, maxDeploys: 2, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i } }`);
    const changing = [interval(A6000, 0, 9, 'High', 0.79), interval(A6000, 10, 19, 'High', 0.78), interval(A6000, 20, 29, 'High', 0.77)];
    expect(replay(many, changing, T0, T0 + 60 * MIN).deploys.map((d) => d.pricePerGpu)).toEqual([0.79, 0.78]);
    const budgeted = config(`  - { name: trainer, cloud: SECURE, maxPods: 5, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i } }`, 'budget: { maxHourlySpend: 1.6 }');
    expect(replay(budgeted, changing, T0, T0 + 60 * MIN).deploys).toHaveLength(2);
  });

  it('rests a rule once its would-be pods have cost budget.maxSpend this UTC day, and deploys again the next day', () => {
    const rule = `  - { name: trainer, cloud: SECURE, maxPods: 9, spot: never, candidates: [{ gpu: ${A6000}, maxPrice: 0.80 }], pod: { imageName: i } }`;
    // Stock all along, a new interval every 30 minutes: the replay decides at each. From 22:00.
    const history = Array.from({ length: 8 }, (_, i) => interval(A6000, 22 * 60 + i * 30, 22 * 60 + i * 30 + 29, 'High', 0.79 - i * 0.001));
    const times = (extra: string) => replay(config(rule, extra), history, T0, T0 + 26 * 60 * MIN).deploys.map((d) => (d.time - T0) / MIN - 22 * 60);
    expect(times('')).toEqual([0, 30, 60, 90, 120, 150, 180, 210]);
    // $1/day: 22:00 and 22:30 ($1.185 spent by 23:00); 00:00 the next day, whose $1 the three
    // pods (replayed pods run on) have spent by 00:30.
    expect(times('budget: { maxSpend: { day: 1 } }')).toEqual([0, 30, 120]);
  });

  it('`gpu-watcher replay` reads the recorded history and prints the would-be deploys and the total', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-replay-'));
    const db = join(dir, 'h.db');
    const store = openStore(db);
    const now = Date.now();
    const offer = (stock: StockLevel): GpuOffer => ({ key: { gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE' }, displayName: null, stock, stockRaw: stock, onDemandPrice: 0.79, minBidPrice: 0.5, availableGpuCounts: [1] });
    store.history.recordPoll({ at: now - 3 * 3_600_000, durationMs: 1, outcome: 'ok' }, [offer('None')]);
    store.history.recordPoll({ at: now - 2 * 3_600_000, durationMs: 1, outcome: 'ok' }, [offer('High')]);
    store.close();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `rules:\n${RULE}\n`);

    const table = testIo({});
    expect(await runCli(['replay', '-c', file, '--db', db, '--since', '1d'], table)).toBe(0);
    expect(table.out.text()).toMatch(/trainer\s+NVIDIA RTX A6000 x1 SECURE\s+on-demand\s+\$0\.79\s+\$0\.79/);
    expect(table.out.text()).toMatch(/1 would-be deploy\(s\) between .*: \$0\.79\/hr together, \$1\.58 had they run until the end/);

    const json = testIo({});
    expect(await runCli(['replay', '-c', file, '--db', db, '--json'], json)).toBe(0);
    const body = JSON.parse(json.out.text());
    expect(body.deploys).toEqual([{ time: new Date(now - 2 * 3_600_000).toISOString(), rule: 'trainer', gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE', kind: 'on-demand', pricePerGpu: 0.79, costPerHr: 0.79 }]);
  });
});
