import { RunpodGraphqlClient } from '../runpod/graphql/client.js';
import { RunpodRestClient } from '../runpod/rest/client.js';
import { SwitchingRunpodApi } from '../runpod/switching.js';
import { RequestLimiter } from '../runpod/request-limiter.js';
import { schedulePeriodMs } from '../lib/cron-period.js';
import { Pacer, longestGapMs } from '../loop/pacer.js';
import type { SpotPersistence } from '../runpod/spot.js';
import type { WatchKey } from '../runpod/types.js';
import type { Config } from '../config/schema.js';
import { configSecrets } from '../config/secrets.js';
import { watchedKeys, type VolumeDataCenters } from '../config/watched-keys.js';
import { resolveVolumes } from '../config/volumes.js';
import { RunpodError } from '../runpod/errors.js';
import { BackWithinSentences } from '../insights/back-within.js';
import { deployableFloors } from '../insights/floors.js';
import { notifierRoutes } from '../config/routing.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { openStore, type Store } from '../store/store.js';
import { AuthGate } from '../loop/auth-gate.js';
import { RulesEngine } from '../rules/engine.js';
import { Watcher } from '../loop/watcher.js';
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
  /** Every request to RunPod from this process passes it: `api.maxRequestsPerMinute` and RunPod's holds. */
  limiter: RequestLimiter;
  /** When the watcher's cycles run: the schedule's ticks (`pacer.baseTick`), or `poll.hungry` / `poll.idle`. */
  pacer: Pacer;
  /** The config the daemon runs on now: the one it was built with, or the last reload's. */
  currentConfig(): Config;
  /**
   * Makes a validated config the running one; call it between cycles (`watcher.betweenCycles`).
   * The settings that need a restart must already hold their running values (`keepRestartSettings`).
   */
  reconfigure(config: Config): void;
  /** The rules' network volumes' data centers, as read at start: a reload may only use these. */
  volumes: VolumeDataCenters;
}

/** What a daemon is built from. */
interface DaemonOptions {
  config: Config;
  dbPath: string;
  apiKey: string | undefined;
  dryRun: boolean;
  clock: Clock;
  logger: Logger;
  /** Build the Prometheus metrics (for `/metrics`). Off by default: each registry starts its own process collectors. */
  metrics?: boolean;
  /** A store the caller opened (and took the database's lease on) with the config's `notifierRoutes`; otherwise it is opened from dbPath. */
  store?: Store;
  /** The watcher's gate before each cycle (the lease keeper's `pass`). */
  beforeCycle?: (signal: AbortSignal) => Promise<boolean>;
  /** The pacer's randomness (its offset and jitter); Math.random by default. */
  random?: () => number;
  /** The RunPod clients' fetch; the global one by default. */
  fetch?: typeof fetch;
}

/** The store, the request limiter and the RunPod client, built before the rest; `metrics` is filled in last (RunPod's errors may come first). */
interface Base {
  store: Store;
  api: SwitchingRunpodApi;
  limiter: RequestLimiter;
  sink: { metrics: Metrics | undefined };
  /** Who hears of events the client tells (`api.switched`): the running config's notifiers, kept current by a reload. */
  audience: { notifiers: string[] };
}

function base(options: DaemonOptions): Base {
  const { config, apiKey, clock, logger } = options;
  const store = options.store ?? openStore(options.dbPath, { route: notifierRoutes(config.notifiers) });
  const spotPersistence: SpotPersistence = {
    load: () => store.daemon.spotRetired.get(),
    save: (retirement, now) => store.daemon.spotRetired.set(retirement, now),
  };
  const sink: Base['sink'] = { metrics: undefined };
  // One limiter for both clients: the cap counts every call to RunPod this process makes.
  const limiter = new RequestLimiter({ maxPerMinute: config.api.maxRequestsPerMinute, clock, logger: logger.child({ component: 'runpod' }) });
  const common = { apiKey, timeoutMs: config.poll.timeout, clock, logger, limiter, ...(options.fetch ? { fetch: options.fetch } : {}), onError: (error: RunpodError) => sink.metrics?.observeApiError(error) };
  const audience: Base['audience'] = { notifiers: Object.keys(config.notifiers) };
  const api = new SwitchingRunpodApi({
    graphql: new RunpodGraphqlClient({ url: config.api.url, spotPersistence, ...common }),
    rest: new RunpodRestClient({ url: config.api.restUrl, ...common }),
    setting: config.api.source,
    switched: store.daemon.apiSwitched.get() !== undefined,
    clock,
    logger,
    onSwitched: (detail, at) => tellApiSwitchedOnce(store, audience.notifiers, detail, at, logger),
  });
  return { store, api, limiter, sink, audience };
}

/**
 * The composition root: builds the store, the RunPod client, the rules engine and the watch loop
 * from a validated config. The only place that decides which real implementation goes where. The
 * rules' network volumes are taken where the database last saw them: `startDaemon` reads them first.
 */
export function createDaemon(options: DaemonOptions): Daemon {
  const parts = base(options);
  return assemble(options, parts, new Map(Object.entries(parts.store.daemon.volumeDataCenters.get() ?? {})));
}

/**
 * `createDaemon`, after reading from the account the data center of every network volume a rule's
 * pod mounts (once, for the daemon's life): an unknown volume is a `ConfigError`.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const parts = base(options);
  try {
    return assemble(options, parts, await volumeDataCenters(parts, options));
  } catch (error) {
    if (!options.store) parts.store.close();
    throw error;
  }
}

function assemble(options: DaemonOptions, { store, api, limiter, sink, audience }: Base, volumes: VolumeDataCenters): Daemon {
  const { apiKey, dryRun, clock, logger } = options;
  let config = options.config;
  let floors = deployableFloors(config);
  const auth = new AuthGate(Boolean(apiKey), logger.child({ component: 'auth' }), clock);
  const sentences = new BackWithinSentences({ history: store.history, floorOf: (key) => floors(key), clock });
  const insight = (key: WatchKey): string | undefined => sentences.sentence(key);
  const engine = new RulesEngine({ api, store, config, clock, logger, auth, dryRun, volumes, insight });
  const alerts = new AlertsStage({ store, config, clock, insight });
  const notifierDeps = (c: Config) => ({ fetch: globalThis.fetch, timeoutMs: NOTIFY_TIMEOUT_MS, secrets: configSecrets(c, apiKey) });
  // One map for the life of the daemon: the dispatcher reads it per delivery, and a reload edits it in place.
  const notifiers = createNotifiers(config.notifiers, notifierDeps(config));
  const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock, logger });
  const watcher = new Watcher({
    api,
    store,
    clock,
    logger,
    keys: watchedKeys(config, volumes).map((w) => w.key),
    notifiers: audience.notifiers,
    retentionMs: config.store.retention,
    auth,
    engine,
    dryRun,
    onSnapshot: async (snapshot) => alerts.evaluate(snapshot),
    alertsPending: () => alerts.pending,
    onCycle: (result) => metrics?.observeCycle(result),
    beforeCycle: options.beforeCycle,
  });
  const pacer = new Pacer({
    clock,
    logger,
    tick: () => watcher.tick(),
    basePeriodMs: schedulePeriodMs(config.poll.schedule),
    hungryMs: config.poll.hungry,
    idleMs: config.poll.idle,
    ...(options.random ? { random: options.random } : {}),
    onMode: (mode, at) => store.daemon.pollMode.set({ mode, since: at }, at),
  });
  const metrics = options.metrics ? new Metrics({ watcher, api, deliveries: dispatcher.stats, store, pacer, limiter, names: () => ({ rules: config.rules.map((r) => r.name), alerts: config.alerts.map((a) => a.name) }) }) : undefined;
  sink.metrics = metrics;
  const keepRunningConfig = (c: Config): void =>
    store.daemon.runningConfig.set(
      {
        rules: c.rules.map((r) => ({ name: r.name, maxPods: r.maxPods, maxDeploys: r.maxDeploys ?? null })),
        alerts: c.alerts.map((a) => ({ name: a.name })),
        api: { source: c.api.source },
        ...(c.budget?.maxSpend ? { budget: { maxSpend: c.budget.maxSpend } } : {}),
        // An idle daemon polls less often than the schedule: `status` must not call that stale.
        periodMs: c.poll.idle === undefined ? schedulePeriodMs(c.poll.schedule) : longestGapMs(schedulePeriodMs(c.poll.schedule), c.poll.idle),
      },
      clock.now(),
    );
  keepRunningConfig(config);
  const reconfigure = (next: Config): void => {
    // Notifiers are rebuilt with the new config's secrets; deliveries queued for them stay in the outbox.
    const rebuilt = createNotifiers(next.notifiers, notifierDeps(next));
    notifiers.clear();
    for (const [name, notifier] of rebuilt) notifiers.set(name, notifier);
    audience.notifiers = Object.keys(next.notifiers);
    store.outbox.reroute(notifierRoutes(next.notifiers));
    engine.reconfigure(next);
    alerts.reconfigure(next);
    watcher.retarget({ keys: watchedKeys(next, volumes).map((w) => w.key), notifiers: audience.notifiers, retentionMs: next.store.retention });
    config = next;
    floors = deployableFloors(next);
    keepRunningConfig(next);
    dispatcher.wake();
  };
  return { store, api, auth, engine, alerts, metrics, notifiers, dispatcher, watcher, limiter, pacer, volumes, currentConfig: () => config, reconfigure };
}

/**
 * The rules' network volumes' data centers, read from the account once for the daemon's life and
 * kept in the database (for `replay`, and for a start while RunPod cannot be reached: the last
 * reading then stands in, with a warning, when it covers every volume).
 */
async function volumeDataCenters({ api, store }: Base, { config, clock, logger }: DaemonOptions): Promise<VolumeDataCenters> {
  const wanted = config.rules.flatMap((r) => r.pod.networkVolumeId ?? []);
  if (wanted.length === 0) return new Map();
  try {
    const volumes = await resolveVolumes(api, config);
    store.daemon.volumeDataCenters.set(Object.fromEntries(volumes), clock.now());
    return volumes;
  } catch (error) {
    const kept = new Map(Object.entries(store.daemon.volumeDataCenters.get() ?? {}));
    if (!(error instanceof RunpodError) || !wanted.every((id) => kept.has(id))) throw error;
    logger.warn({ err: error }, 'cannot read the network volumes from RunPod: using their data centers as last read');
    return kept;
  }
}
