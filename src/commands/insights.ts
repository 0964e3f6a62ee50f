import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { insightsToCsv } from '../insights/csv.js';
import { buildInsights } from '../insights/document.js';
import { deployableFloors } from '../insights/floors.js';
import { insightsToText } from '../insights/text.js';
import { timeZoneProblem } from '../insights/zone.js';
import { chosenFormat, configPath, formatOption, OptionError, sinceOption } from './context.js';
import { openRecordedStore } from './history.js';
import type { CliIo } from './io.js';

/** `--tz`, else TZ, else the system's zone; an unknown name is an OptionError naming where it came from. */
function timeZoneOption(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const [zone, where] = flag !== undefined ? [flag, '--tz'] : env.TZ ? [env.TZ, 'TZ'] : [Intl.DateTimeFormat().resolvedOptions().timeZone, 'the system time zone'];
  const problem = timeZoneProblem(zone);
  if (problem) throw new OptionError(`${where}: ${problem}`);
  return zone;
}

/** `insights [--gpu ID] [--since 30d] [--tz ZONE] [--json|--format F] [--db FILE] [-c FILE]`: what the history says per key. */
export function registerInsights(program: Command, io: CliIo): void {
  program
    .command('insights')
    .description('when each watched GPU is usually deployable, how long outages last, the chance it comes back soon, and its price, from the history')
    .option('--gpu <id>', 'only this gpuTypeId')
    .option('--since <when>', 'a duration back from now (30d, 7d) or a date', '30d')
    .option('--tz <zone>', 'IANA time zone for the hour-of-week grid (default: TZ, or the system zone)')
    .option('--json', 'print JSON (same as --format json)')
    .addOption(formatOption())
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('-c, --config <file>', "config file, for store.path and the rules' minStock")
    .action(async (opts: { gpu?: string; since: string; tz?: string; json?: boolean; format?: string; db?: string; config?: string }) => {
      const now = Date.now();
      const since = sinceOption(opts.since, now);
      const timeZone = timeZoneOption(opts.tz, io.env);
      const { path, explicit } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: explicit });
      const store = openRecordedStore(opts.db ?? config.store.path);
      try {
        const document = buildInsights(store.history, deployableFloors(config), { since, now, timeZone, gpuTypeId: opts.gpu });
        const format = chosenFormat(opts);
        io.stdout.write(format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : format === 'csv' ? insightsToCsv(document) : insightsToText(document));
      } finally {
        store.close();
      }
    });
}
