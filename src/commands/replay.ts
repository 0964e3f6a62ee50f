import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatTable } from '../lib/table.js';
import { replay, type ReplayResult } from '../rules/replay.js';
import { isoTime, shortTime as time, usd } from '../lib/format.js';
import { configPath, sinceOption } from './context.js';
import { openRecordedStore } from './history.js';
import type { CliIo } from './io.js';


/** The replay as a table with its totals. */
function formatReplay(result: ReplayResult): string {
  const window = `${time(result.since)} .. ${time(result.until)} UTC`;
  if (result.deploys.length === 0) return `no rule would have deployed between ${window}\n`;
  const table = formatTable(
    ['TIME (UTC)', 'RULE', 'GPU', 'KIND', '$/GPU/HR', 'POD $/HR'],
    result.deploys.map((d) => [time(d.time), d.rule, `${d.gpuTypeId} x${d.gpuCount} ${d.cloud}`, d.kind, usd(d.pricePerGpu), usd(d.costPerHr)]),
  );
  return `${table}${result.deploys.length} would-be deploy(s) between ${window}: ${usd(result.totalPerHr)}/hr together, ${usd(result.totalCost)} had they run until the end\n`;
}

/** `replay [-c FILE] [--since 7d] [--db FILE] [--json]`: recorded history through the current rules. */
export function registerReplay(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description('replays recorded history through the rules: what would have been deployed, when, where, at what price')
    .option('-c, --config <file>', 'config file with the rules (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--since <when>', 'a duration back from now (7d) or a date', '7d')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; since: string; db?: string; json?: boolean }) => {
      const until = Date.now();
      const since = sinceOption(opts.since, until);
      const config = await loadConfig(configPath(opts.config, io).path, io.env, { required: true, dbGiven: opts.db !== undefined });
      const dbPath = opts.db ?? config.store.path;
      const store = openRecordedStore(dbPath);
      try {
        // A rule with a network volume watches its volume's data center, as the daemon read it.
        const volumes = new Map(Object.entries(store.daemon.volumeDataCenters.get() ?? {}));
        const result = replay(config, store.history.intervals({ since, until }), since, until, volumes);
        if (opts.json) {
          const body = { ...result, since: isoTime(since), until: isoTime(until), deploys: result.deploys.map((d) => ({ ...d, time: isoTime(d.time) })) };
          io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        } else {
          io.stdout.write(formatReplay(result));
          if (config.resume.length > 0) io.stdout.write('resume entries are not replayed: the history does not say when their pods were stopped\n');
        }
      } finally {
        store.close();
      }
    });
}
