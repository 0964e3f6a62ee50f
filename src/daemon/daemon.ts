import { RunpodGraphqlClient } from '../runpod/graphql/client.js';
import { RunpodRestClient } from '../runpod/rest/client.js';
import { SwitchingRunpodApi } from '../runpod/switching.js';
import type { SpotPersistence } from '../runpod/spot.js';
import type { RunpodError } from '../runpod/errors.js';
import type { Config } from '../config/schema.js';
import { configSecrets } from '../config/secrets.js';
import { watchedKeys } from '../config/watched-keys.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { openStore, type Store } from '../store/store.js';
import { AuthGate } from '../loop/auth-gate.js';
import { RulesEngine } from '../rules/engine.js';
import { Watcher } from '../loop/watcher.js';
import { schedulePeriodMs } from '../loop/scheduler.js';
import { tellApiSwitchedOnce } from '../loop/api-switched.js';
import { Metrics } from '../http/metrics.js';
import { AlertsStage } from '../alerts/stage.js';
import { Dispatcher } from '../notify/dispatcher.js';
import { createNotifiers } from '../notify/registry.js';
import type { Notifier } from '../notify/notifier.js';

/** How long a webhook or Slack receiver has to answer one delivery. */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** The parts of a running watcher, wired together. */
export interface Daemon {
  store: Store;
  /** GraphQL or REST v2, as `api.source` and a switch decide; `api.source` says which is in use. */
  api: SwitchingRunpodApi;
  auth: AuthGate;
  engine: RulesEngine;
  alerts: AlertsStage;
  /** Present when asked for (`metrics: true`): the Prometheus registry, fed every cycle. */
  metrics: Metrics | undefined;
  notifiers: Map<string, Notifier>;
  dispatcher: Dispatcher;
  watcher: Watcher;
  /** The config the daemon runs on now: the one it was built with, or the last reload's. */
  currentConfig(): Config;
  /**
   * Makes a validated config the running one; call it between cycles (`watcher.betweenCycles`).
   * The settings that need a restart must already hold their running values (`keepRestartSettings`).
   */
  reconfigure(config: Config): void;
}

/**
 * The composition root: builds the store, the RunPod client, the rules engine and the watch loop
 * from a validated config. The only place that decides which real implementation goes where.
 */
export function createDaemon(options: {
  config: Config;
  dbPath: string;
  apiKey: string | undefined;
  dryRun: boolean;
  clock: Clock;
  logger: Logger;
  /** Build the Prometheus metrics (for `/metrics`). Off by default: each registry starts its own process collectors. */
  metrics?: boolean;
  /** A store the caller opened (and took the database's lease on); otherwise it is opened from dbPath. */
  store?: Store;
  /** The watcher's gate before each cycle (the lease keeper's `pass`). */
  beforeCycle?: (signal: AbortSignal) => Promise<boolean>;
}): Daemon {
  const { apiKey, dryRun, clock, logger } = options;
  let config = options.config;
  const store = options.store ?? openStore(options.dbPath);
  const spotPersistence: SpotPersistence = {
    load: () => store.daemon.spotRetired.get(),
    save: (retirement, now) => store.daemon.spotRetired.set(retirement, now),
  };
  const common = { apiKey, timeoutMs: config.poll.timeout, clock, logger, onError: (error: RunpodError) => metrics?.observeApiError(error) };
  let notifierNames = Object.keys(config.notifiers);
  const api = new SwitchingRunpodApi({
    graphql: new RunpodGraphqlClient({ url: config.api.url, spotPersistence, ...common }),
    rest: new RunpodRestClient({ url: config.api.restUrl, ...common }),
    setting: config.api.source,
    switched: store.daemon.apiSwitched.get() !== undefined,
    clock,
    logger,
    onSwitched: (detail, at) => tellApiSwitchedOnce(store, notifierNames, detail, at, logger),
  });
  const auth = new AuthGate(Boolean(apiKey), logger.child({ component: 'auth' }), clock);
  const engine = new RulesEngine({ api, store, config, clock, logger, auth, dryRun });
  const alerts = new AlertsStage({ store, config, clock });
  const notifierDeps = (c: Config) => ({ fetch: globalThis.fetch, timeoutMs: NOTIFY_TIMEOUT_MS, secrets: configSecrets(c, apiKey) });
  // One map for the life of the daemon: the dispatcher reads it per delivery, and a reload edits it in place.
  const notifiers = createNotifiers(config.notifiers, notifierDeps(config));
  const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock, logger });
  const watcher = new Watcher({
    api,
    store,
    clock,
    logger,
    keys: watchedKeys(config).map((w) => w.key),
    notifiers: notifierNames,
    retentionMs: config.store.retention,
    auth,
    engine,
    dryRun,
    onSnapshot: async (snapshot) => alerts.evaluate(snapshot),
    onCycle: (result) => metrics?.observeCycle(result),
    beforeCycle: options.beforeCycle,
  });
  const metrics = options.metrics ? new Metrics({ watcher, api, deliveries: dispatcher.stats, store }) : undefined;
  const keepRunningConfig = (c: Config): void =>
    store.daemon.runningConfig.set(
      {
        rules: c.rules.map((r) => ({ name: r.name, maxPods: r.maxPods, maxDeploys: r.maxDeploys ?? null })),
        alerts: c.alerts.map((a) => ({ name: a.name })),
        api: { source: c.api.source },
        periodMs: schedulePeriodMs(c.poll.schedule),
      },
      clock.now(),
    );
  keepRunningConfig(config);
  const reconfigure = (next: Config): void => {
    // Notifiers are rebuilt with the new config's secrets; deliveries queued for them stay in the outbox.
    const rebuilt = createNotifiers(next.notifiers, notifierDeps(next));
    notifiers.clear();
    for (const [name, notifier] of rebuilt) notifiers.set(name, notifier);
    notifierNames = Object.keys(next.notifiers);
    engine.reconfigure(next);
    alerts.reconfigure(next);
    watcher.retarget({ keys: watchedKeys(next).map((w) => w.key), notifiers: notifierNames, retentionMs: next.store.retention });
    config = next;
    keepRunningConfig(next);
    dispatcher.wake();
  };
  return { store, api, auth, engine, alerts, metrics, notifiers, dispatcher, watcher, currentConfig: () => config, reconfigure };
}
