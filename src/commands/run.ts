import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { watchedKeys } from '../config/watched-keys.js';
import { systemClock } from '../lib/clock.js';
import { createDaemon } from '../main.js';
import { schedulePeriodMs, scheduleTicks } from '../watcher/scheduler.js';
import { createHandler, startHttpServer } from '../http/server.js';
import { loadDashboardAssets } from '../http/assets.js';
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
    .option('--http <host:port>', 'serve /healthz, /metrics and /api/* here (overrides http.listen)')
    .action(async (opts: { config?: string; db?: string; dryRun?: boolean; once?: boolean; http?: string }) => {
      const config = await loadConfig(configPath(opts.config, io).path, io.env, { required: true });
      const logger = commandLogger(io);
      const dbPath = opts.db ?? config.store.path;
      const apiKey = io.env.RUNPOD_API_KEY;
      if (opts.http !== undefined) config.http = { listen: opts.http, token: config.http?.token ?? '', allowedHosts: config.http?.allowedHosts ?? [] };
      const daemon = createDaemon({ config, dbPath, apiKey, dryRun: Boolean(opts.dryRun), clock: systemClock, logger, metrics: config.http !== undefined });
      const { store, watcher, dispatcher } = daemon;
      let server: { close: () => Promise<void> } | undefined;
      try {
        const keys = watchedKeys(config);
        const notifiers = Object.keys(config.notifiers);
        logger.info(
          { keys: keys.length, schedule: config.poll.schedule, db: dbPath, api: config.api.url, apiKeySet: Boolean(apiKey), notifiers, dryRun: Boolean(opts.dryRun) },
          `gpu-watcher started: ${keys.length} key(s) on "${config.poll.schedule}"${opts.dryRun ? ', dry run: no mutation will be sent' : ''}`,
        );

        if (keys.length === 0 && config.resume.length === 0) logger.warn('nothing to watch: the config has no watch, alerts, rules or resume entries');
        if (!apiKey && !opts.dryRun && config.rules.length + config.resume.length > 0) {
          logger.warn('RUNPOD_API_KEY is not set: rules and resume entries only watch, they cannot deploy');
        }

        if (opts.once) {
          const result = await watcher.tick();
          await watcher.stop();
          // One round of deliveries, so --once also tells people what its cycle did.
          await dispatcher.deliverDue();
          if (!result || result.outcome === 'failed') throw new Error(`the cycle did not complete${result?.errorKind ? ` (${result.errorKind})` : ''}`);
          return;
        }
        if (config.http) {
          const handler = createHandler({ daemon, config, clock: systemClock, dryRun: Boolean(opts.dryRun), periodMs: schedulePeriodMs(config.poll.schedule), assets: loadDashboardAssets() });
          server = await startHttpServer(config.http.listen, handler, logger);
        }
        // Run once at start, then on every tick.
        const schedule = scheduleTicks(config.poll.schedule, () => void watcher.tick(), logger);
        void watcher.tick();
        dispatcher.start();
        await io.waitForShutdown();
        logger.info('stopping: finishing or aborting the cycle in flight');
        await schedule.stop();
        await watcher.stop();
        await dispatcher.stop();
        logger.info('stopped cleanly');
      } finally {
        await server?.close();
        store.close();
      }
    });
}
