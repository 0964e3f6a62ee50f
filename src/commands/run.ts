import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { notifierRoutes } from '../config/routing.js';
import type { Config } from '../config/schema.js';
import { createReloader, type ReloadResult } from '../daemon/reload.js';
import { watchedKeys } from '../config/watched-keys.js';
import { systemClock } from '../lib/clock.js';
import { startDaemon } from '../daemon/daemon.js';
import { scheduleTicks } from '../loop/scheduler.js';
import { longestGapMs } from '../loop/pacer.js';
import { schedulePeriodMs } from '../lib/cron-period.js';
import { createHandler, startHttpServer } from '../http/server.js';
import { loadDashboardAssets } from '../http/assets.js';
import { LeaseKeeper } from '../store/lease-keeper.js';
import { openStore } from '../store/store.js';
import { commandLogger, configPath, listenFlag } from './context.js';
import type { CliIo } from './io.js';

/**
 * `run`: poll on the schedule until SIGINT/SIGTERM (or once, with --once), recording history. Only
 * the holder of the database's lease acts: a second `run` exits 75, or with --standby waits for
 * the holder to stop or die and then takes over.
 */
export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('the daemon: poll RunPod on the schedule, record history, act on rules')
    .option('-c, --config <file>', 'config file (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--db <file>', 'SQLite file (default: GPU_WATCHER_DB or store.path)')
    .option('--dry-run', 'decide and notify, but send no mutation')
    .option('--once', 'run one cycle and exit')
    .option('--standby', 'when another gpu-watcher runs on this database, wait and take over once it stops (instead of exiting 75)')
    .option('--http <host:port>', 'serve /healthz, /metrics and /api/* here (overrides http.listen)')
    .action(async (opts: { config?: string; db?: string; dryRun?: boolean; once?: boolean; standby?: boolean; http?: string }) => {
      if (opts.http !== undefined) listenFlag(opts.http, '--http');
      // The same reading at start and on every reload, with the flags applied over the file.
      const load = async (): Promise<Config> => {
        const loaded = await loadConfig(configPath(opts.config, io).path, io.env, { required: true, dbGiven: opts.db !== undefined });
        if (opts.http !== undefined) loaded.http = { listen: opts.http, token: loaded.http?.token ?? '', allowedHosts: loaded.http?.allowedHosts ?? [] };
        return loaded;
      };
      const config = await load();
      const logger = commandLogger(io);
      const dbPath = opts.db ?? config.store.path;
      const apiKey = io.env.RUNPOD_API_KEY;
      const periodMs = schedulePeriodMs(config.poll.schedule);
      // Listened for from the start, so a SIGHUP before the daemon acts (in standby) does not end it.
      let reload: (() => Promise<ReloadResult>) | undefined;
      io.onReload?.(() => {
        if (!reload) return logger.warn('SIGHUP ignored: the config is reloaded only once the daemon runs on its schedule (not while in standby, nor with --once)');
        logger.info('SIGHUP: reloading the config');
        reload().catch((error: unknown) => logger.error({ err: error }, 'config reload failed; the running config is kept'));
      });
      const shutdown = new AbortController();
      const shutdownAsked = io.waitForShutdown().then(() => shutdown.abort(new Error('shutting down')));
      const store = openStore(dbPath, { route: notifierRoutes(config.notifiers) });
      const keeper = new LeaseKeeper({ store, clock: systemClock, logger, periodMs });
      let server: { close: () => Promise<void> } | undefined;
      try {
        if (!(await keeper.take({ standby: Boolean(opts.standby), signal: shutdown.signal }))) {
          logger.info('stopped while waiting for the database lease');
          return;
        }
        keeper.startKeepAlive();
        const daemon = await startDaemon({
          config,
          dbPath,
          store,
          apiKey,
          dryRun: Boolean(opts.dryRun),
          clock: systemClock,
          logger,
          metrics: config.http !== undefined,
          beforeCycle: (signal) => keeper.pass(signal),
        });
        const { watcher, dispatcher } = daemon;
        const keys = watchedKeys(config);
        const notifiers = Object.keys(config.notifiers);
        logger.info(
          { keys: keys.length, schedule: config.poll.schedule, db: dbPath, api: config.api.url, apiKeySet: Boolean(apiKey), notifiers, dryRun: Boolean(opts.dryRun), leaseTtlMs: keeper.ttlMs, hungry: config.poll.hungry, idle: config.poll.idle, maxRequestsPerMinute: config.api.maxRequestsPerMinute, offsetMs: daemon.pacer.offsetMs },
          `gpu-watcher started: ${keys.length} key(s) on "${config.poll.schedule}"${opts.dryRun ? ', dry run: no mutation will be sent' : ''}`,
        );

        if (keys.length === 0 && config.resume.length === 0) logger.warn('nothing to watch: the config has no watch, alerts, rules or resume entries');
        if (!apiKey && !opts.dryRun && config.rules.length + config.resume.length > 0) {
          logger.warn('RUNPOD_API_KEY is not set: rules and resume entries only watch, they cannot deploy');
        }

        if (opts.once) {
          const result = await watcher.tick();
          await watcher.stop();
          if (keeper.stopped) throw keeper.stopped;
          // One round of deliveries, so --once also tells people what its cycle did.
          await dispatcher.deliverDue();
          if (!result || result.outcome === 'failed') throw new Error(`the cycle did not complete${result?.errorKind ? ` (${result.errorKind})` : ''}`);
          return;
        }
        reload = createReloader({ daemon, load, logger, now: () => systemClock.now() });
        if (config.http) {
          const handler = createHandler({
            daemon,
            // Read per request: the status document shows the rules and alerts of the last reload.
            get config() {
              return daemon.currentConfig();
            },
            clock: systemClock,
            dryRun: Boolean(opts.dryRun),
            // An idle daemon polls less often than the schedule: /healthz judges a stall by the longest gap.
            periodMs: longestGapMs(periodMs, config.poll.idle),
            assets: loadDashboardAssets(),
            reload,
          });
          server = await startHttpServer(config.http.listen, handler, logger);
        }
        // Run once at start, then as the pacer decides: on the schedule's ticks, or hungry or idle.
        const { pacer } = daemon;
        const schedule = scheduleTicks(config.poll.schedule, () => pacer.baseTick(), logger);
        pacer.start();
        dispatcher.start();
        const lost = await Promise.race([shutdownAsked.then(() => undefined), keeper.lost]);
        logger.info(lost ? 'stopping: this gpu-watcher may no longer act on its database' : 'stopping: finishing or aborting the cycle in flight');
        await schedule.stop();
        await Promise.all([pacer.stop(), watcher.stop()]);
        await dispatcher.stop();
        if (lost) throw lost;
        logger.info('stopped cleanly');
      } finally {
        await keeper.release();
        await server?.close();
        store.close();
      }
    });
}
