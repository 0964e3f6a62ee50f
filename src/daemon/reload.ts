import type { Config } from '../config/schema.js';
import { ConfigError, formatIssue } from '../config/errors.js';
import { describeDiff, diffConfigs, diffIsEmpty, keepRestartSettings, RELOADED_SECTIONS, type ConfigDiff } from '../config/diff.js';
import { newEvent } from '../events/event.js';
import type { Logger } from '../lib/logger.js';
import type { Daemon } from './daemon.js';

/** How a reload ended: applied (with what changed), or refused with every problem of the new file. */
export type ReloadResult = { applied: true; summary: string; diff: ConfigDiff } | { applied: false; problems: string[] };

/** What a reload works with: the running daemon, and how to read the config file again. */
export interface ReloadDeps {
  daemon: Pick<Daemon, 'currentConfig' | 'reconfigure' | 'watcher' | 'store' | 'volumes'>;
  /** Reads and validates the config file as `run` did at start (its flags applied); throws ConfigError. */
  load: () => Promise<Config>;
  logger: Logger;
  now: () => number;
}

/**
 * The network volumes a config's rules mount whose data center the daemon did not read at start:
 * their stock cannot be watched until a restart reads them, so such a reload is refused.
 */
function unreadVolumes(config: Config, volumes: Daemon['volumes']): string[] {
  return config.rules.flatMap((rule, index) => {
    const id = rule.pod.networkVolumeId;
    return id === undefined || volumes.has(id) ? [] : [`rules[${index}].pod.networkVolumeId: volume "${id}" was not read from RunPod at start; restart the daemon to use it`];
  });
}

/**
 * Re-reads the config (on SIGHUP or `POST /api/reload`) and applies it between cycles. An invalid
 * file is refused with every problem and the running config is kept. Settings that need a restart
 * keep their running values and are named in a warning. What changed is logged and told as
 * `config.reloaded` to every notifier of the new config. Reloads run one at a time.
 */
export function createReloader(deps: ReloadDeps): () => Promise<ReloadResult> {
  const log = deps.logger.child({ component: 'reload' });
  let queue: Promise<unknown> = Promise.resolve();
  const reloadOnce = async (): Promise<ReloadResult> => {
    let next: Config;
    try {
      next = await deps.load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const problems = error.issues.map(formatIssue);
      log.error({ problems }, `config reload refused, the running config is kept: ${problems.join('; ')}`);
      return { applied: false, problems };
    }
    const unread = unreadVolumes(next, deps.daemon.volumes);
    if (unread.length > 0) {
      log.error({ problems: unread }, `config reload refused, the running config is kept: ${unread.join('; ')}`);
      return { applied: false, problems: unread };
    }
    return deps.daemon.watcher.betweenCycles(() => apply(next));
  };
  const apply = (next: Config): ReloadResult => {
    const running = deps.daemon.currentConfig();
    const diff = diffConfigs(running, next);
    if (diff.needRestart.length > 0) {
      log.warn({ settings: diff.needRestart }, `config reload: ${diff.needRestart.join(', ')} changed but need a restart; still running with the old values`);
    }
    const summary = describeDiff(diff);
    if (diffIsEmpty(diff)) {
      log.info('config reloaded: nothing the daemon runs on changed');
      return { applied: true, summary, diff };
    }
    const applied = keepRestartSettings(running, next);
    deps.daemon.reconfigure(applied);
    const details = { ...Object.fromEntries(RELOADED_SECTIONS.map((s) => [s, diff.sections[s]])), settings: diff.settings, needRestart: diff.needRestart };
    deps.daemon.store.outbox.append(newEvent({ type: 'config.reloaded', summary: `config reloaded: ${summary}`, details }, deps.now()), Object.keys(applied.notifiers));
    log.info({ ...details }, `config reloaded: ${summary}`);
    return { applied: true, summary, diff };
  };
  return () => {
    const result = queue.then(reloadOnce);
    queue = result.catch(() => undefined);
    return result;
  };
}
