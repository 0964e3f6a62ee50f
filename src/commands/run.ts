import type { Command } from 'commander';
import { RunpodGraphqlClient } from '../api/graphql-client.js';
import { loadConfig } from '../config/load.js';
import { watchedKeys } from '../config/watched-keys.js';
import { systemClock } from '../lib/clock.js';
import { openStore } from '../store/store.js';
import { scheduleTicks } from '../watcher/scheduler.js';
import { Watcher } from '../watcher/watcher.js';
import { commandLogger, configPath } from './context.js';
import type { CliIo } from './io.js';

/** `run`: poll on the schedule until SIGINT/SIGTERM (or once, with --once), recording history. */
export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('the daemon: poll RunPod on the schedule, record history, act on rules')
    .option('-c, --config <file>', 'config file (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--dry-run', 'decide and notify, but send no mutation')
    .option('--once', 'run one cycle and exit')
    .action(async (opts: { config?: string; db?: string; dryRun?: boolean; once?: boolean }) => {
      const config = await loadConfig(configPath(opts.config, io).path, io.env, { required: true });
      const logger = commandLogger(io);
      const dbPath = opts.db ?? config.store.path;
      const store = openStore(dbPath);
      try {
        const apiKey = io.env.RUNPOD_API_KEY;
        const api = new RunpodGraphqlClient({ url: config.api.url, apiKey, timeoutMs: config.poll.timeout, logger });
        const keys = watchedKeys(config).map((w) => w.key);
        const notifiers = Object.keys(config.notifiers);
        const watcher = new Watcher({ api, store, clock: systemClock, logger, keys, notifiers, retentionMs: config.store.retention, hasApiKey: Boolean(apiKey) });
        logger.info(
          { keys: keys.length, schedule: config.poll.schedule, db: dbPath, api: config.api.url, apiKeySet: Boolean(apiKey), notifiers, dryRun: Boolean(opts.dryRun) },
          `gpu-watcher started: ${keys.length} key(s) on "${config.poll.schedule}"${opts.dryRun ? ', dry run: no mutation will be sent' : ''}`,
        );

        if (opts.once) {
          const result = await watcher.tick();
          await watcher.stop();
          if (!result || result.outcome === 'failed') throw new Error(`the cycle did not complete${result?.errorKind ? ` (${result.errorKind})` : ''}`);
          return;
        }
        // Run once at start, then on every tick.
        const schedule = scheduleTicks(config.poll.schedule, () => void watcher.tick(), logger);
        void watcher.tick();
        await io.waitForShutdown();
        logger.info('stopping: finishing or aborting the cycle in flight');
        await schedule.stop();
        await watcher.stop();
        logger.info('stopped cleanly');
      } finally {
        store.close();
      }
    });
}
