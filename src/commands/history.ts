import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatTable } from '../lib/table.js';
import { describeFilters, filtersId } from '../runpod/types.js';
import { dataCentersToJson, type DataCenterInterval } from '../store/dc-history.js';
import { fleetToJson, type FleetInterval } from '../store/fleet-history.js';
import { intervalToJson, type HistoryInterval, type PollRun } from '../store/history.js';
import { openStoreReader, type StoreReader } from '../store/store.js';
import { isoTime, shortTime, usd } from '../lib/format.js';
import { toCsv } from '../lib/csv.js';
import { chosenFormat, configPath, formatOption, sinceOption } from './context.js';
import type { CliIo } from './io.js';


/**
 * Opens a database read-only (no lock is taken: it reads beside a running daemon), or says plainly
 * that there is none yet; one that cannot be read is a DatabaseError (exit 73).
 */
export function openRecordedStore(dbPath: string): StoreReader {
  if (!existsSync(dbPath)) throw new Error(`no database at ${dbPath}: has \`gpu-watcher run\` recorded anything yet?`);
  return openStoreReader(dbPath);
}

/**
 * Intervals as a table, oldest first per key; then, per key with data centers (REST v2), each data
 * center's last recorded level and how many intervals it had; per key with fleet figures (GraphQL),
 * the latest; then failed poll runs as gaps.
 */
function formatHistory(intervals: readonly HistoryInterval[], dataCenters: readonly DataCenterInterval[], fleet: readonly FleetInterval[], gaps: readonly PollRun[]): string {
  if (intervals.length === 0 && gaps.length === 0) return 'no history in that window\n';
  let text = formatTable(
    ['GPU', 'COUNT', 'CLOUD', 'FROM (UTC)', 'TO (UTC)', 'POLLS', 'STOCK', 'ON-DEMAND $/GPU/HR', 'MIN BID $/GPU/HR', 'COUNTS'],
    intervals.map((i) => [
      // A filtered key's machine filters follow its GPU type: `NVIDIA RTX A6000 · CUDA 12.8 · EU-RO-1`.
      `${i.key.gpuTypeId}${describeFilters(i.key.filters)}`,
      String(i.key.gpuCount),
      i.key.cloud,
      shortTime(i.firstSeen),
      shortTime(i.lastSeen),
      String(i.polls),
      i.stock,
      usd(i.onDemandPrice),
      usd(i.minBidPrice),
      i.availableGpuCounts?.length ? i.availableGpuCounts.join(',') : '-',
    ]),
  );
  text += formatDataCenters(dataCenters);
  text += formatFleet(fleet);
  for (const gap of gaps) {
    text += `gap: ${gap.polls} failed poll(s) ${shortTime(gap.firstAt)} .. ${shortTime(gap.lastAt)} (${gap.errorKind ?? 'error'}: ${gap.error ?? ''})\n`;
  }
  return text;
}

/** One line per key: `data centers, GPU xN CLOUD: EU-SE-1 High (2 intervals), US-TX-3 Low (1)`. */
function formatDataCenters(intervals: readonly DataCenterInterval[]): string {
  const lines = new Map<string, Map<string, { stock: string; count: number }>>();
  for (const i of intervals) {
    const label = `${i.key.gpuTypeId} x${i.key.gpuCount} ${i.key.cloud}${describeFilters(i.key.filters)}`;
    const centers = lines.get(label) ?? new Map<string, { stock: string; count: number }>();
    lines.set(label, centers);
    // Intervals come by data center then time: the last one seen is the latest level.
    centers.set(i.dataCenter, { stock: i.stock, count: (centers.get(i.dataCenter)?.count ?? 0) + 1 });
  }
  let text = '';
  for (const [label, centers] of lines) {
    const parts = [...centers].map(([dc, { stock, count }]) => `${dc} ${stock} (${count} interval${count === 1 ? '' : 's'})`);
    text += `data centers, ${label}: ${parts.join(', ')}\n`;
  }
  return text;
}

const span = (lo: number | null, hi: number | null, unit = ''): string | undefined =>
  lo === null || hi === null ? undefined : lo === hi ? `${lo}${unit}` : `${lo}-${hi}${unit}`;

/** One line per key with fleet figures, its latest interval: `fleet, GPU x1 SECURE: 33-35 of 40 rented (82.5-87.5%) (3 intervals)`. */
function formatFleet(intervals: readonly FleetInterval[]): string {
  const latest = new Map<string, { interval: FleetInterval; count: number }>();
  for (const i of intervals) {
    const label = `${i.key.gpuTypeId} x${i.key.gpuCount} ${i.key.cloud}${describeFilters(i.key.filters)}`;
    // Intervals come by key then time: the last one seen is the latest.
    latest.set(label, { interval: i, count: (latest.get(label)?.count ?? 0) + 1 });
  }
  let text = '';
  for (const [label, { interval: i, count }] of latest) {
    const rented = span(i.rentedMin, i.rentedMax);
    const share = span(i.rentalPercentageMin, i.rentalPercentageMax, '%');
    const words = [
      rented !== undefined && i.totalCount !== null ? `${rented} of ${i.totalCount} rented` : rented !== undefined ? `${rented} rented` : i.totalCount !== null ? `${i.totalCount} in the fleet` : undefined,
      share !== undefined ? `(${share})` : undefined,
    ].filter((w) => w !== undefined);
    text += `fleet, ${label}: ${words.join(' ')} (${count} interval${count === 1 ? '' : 's'})
`;
  }
  return text;
}

/**
 * Intervals and gaps as CSV rows, oldest first per key then the gaps: `kind` says which; a gap
 * row has its time span, poll count and error, no key or state.
 */
function historyToCsv(intervals: readonly HistoryInterval[], gaps: readonly PollRun[]): string {
  return toCsv(
    ['kind', 'gpuTypeId', 'gpuCount', 'cloud', 'filters', 'firstSeen', 'lastSeen', 'polls', 'stock', 'onDemandPrice', 'minBidPrice', 'availableGpuCounts', 'error'],
    [
      ...intervals.map((i) => ['interval', i.key.gpuTypeId, i.key.gpuCount, i.key.cloud, filtersId(i.key.filters), isoTime(i.firstSeen), isoTime(i.lastSeen), i.polls, i.stock, i.onDemandPrice, i.minBidPrice, i.availableGpuCounts?.join(' '), null]),
      ...gaps.map((g) => ['gap', null, null, null, null, isoTime(g.firstAt), isoTime(g.lastAt), g.polls, null, null, null, null, `${g.errorKind ?? 'error'}: ${g.error ?? ''}`]),
    ],
  );
}

/** `history [--gpu ID] [--since 24h] [--json|--format F] [--db FILE]`: the recorded intervals. */
export function registerHistory(program: Command, io: CliIo): void {
  program
    .command('history')
    .description('recorded stock and price history, as intervals')
    .option('--gpu <id>', 'only this gpuTypeId')
    .option('--since <when>', 'a duration back from now (24h, 7d) or a date', '24h')
    .option('--json', 'print JSON (same as --format json)')
    .addOption(formatOption())
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('-c, --config <file>', 'config file, for store.path')
    .action(async (opts: { gpu?: string; since: string; json?: boolean; format?: string; db?: string; config?: string }) => {
      const now = Date.now();
      const since = sinceOption(opts.since, now);
      const { path, explicit } = configPath(opts.config, io);
      const dbPath = opts.db ?? (await loadConfig(path, io.env, { required: explicit })).store.path;
      const store = openRecordedStore(dbPath);
      try {
        const intervals = store.history.intervals({ gpuTypeId: opts.gpu, since });
        const dataCenters = store.history.dataCenterIntervals({ gpuTypeId: opts.gpu, since });
        const fleet = store.history.fleetIntervals({ gpuTypeId: opts.gpu, since });
        const gaps = store.history.pollRuns(since).filter((r) => r.outcome === 'failed');
        const format = chosenFormat(opts);
        if (format === 'csv') {
          io.stdout.write(historyToCsv(intervals, gaps));
        } else if (format === 'json') {
          const body = {
            since: isoTime(since),
            intervals: intervals.map(intervalToJson),
            dataCenters: dataCentersToJson(dataCenters),
            fleet: fleetToJson(fleet),
            gaps: gaps.map((g) => ({ ...g, firstAt: isoTime(g.firstAt), lastAt: isoTime(g.lastAt) })),
          };
          io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        } else {
          io.stdout.write(formatHistory(intervals, dataCenters, fleet, gaps));
        }
      } finally {
        store.close();
      }
    });
}
