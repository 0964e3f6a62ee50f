import { Option } from 'commander';
import { RunpodGraphqlClient } from '../runpod/graphql/client.js';
import { RunpodRestClient } from '../runpod/rest/client.js';
import type { RunpodApi } from '../runpod/types.js';
import type { ApiSource } from '../runpod/switching.js';
import { createLogger, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger } from '../lib/logger.js';
import { ConfigError, type ConfigIssue } from '../config/errors.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.js';
import { listenProblem, type Config } from '../config/schema.js';
import { parseSince } from '../lib/duration.js';
import type { CliIo, LogChoice } from './io.js';

/** The config file to read: `-c`, then GPU_WATCHER_CONFIG, then the default path. */
export function configPath(flag: string | undefined, io: CliIo): { path: string; explicit: boolean } {
  const path = flag ?? io.env.GPU_WATCHER_CONFIG;
  return path ? { path, explicit: true } : { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/**
 * How `command` logs: LOG_LEVEL, and the format from `--log-format`, else LOG_FORMAT, else by
 * command: the daemon (`run`) writes JSON lines for a log collector unless stderr is a terminal;
 * every other command (one-shot commands, `demo`, `sim`) writes readable lines, never raw JSON.
 * A LOG_LEVEL or LOG_FORMAT that names nothing is a ConfigError naming the variable (exit 78).
 */
export function logChoice(command: string, flag: string | undefined, io: CliIo): LogChoice {
  const { LOG_LEVEL: level, LOG_FORMAT: format } = io.env;
  const issues: ConfigIssue[] = [];
  if (level !== undefined && !isLogLevel(level)) issues.push({ path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')}, got "${level}"` });
  if (format !== undefined && !(LOG_FORMATS as readonly string[]).includes(format)) issues.push({ path: 'LOG_FORMAT', message: `must be one of ${LOG_FORMATS.join(', ')}, got "${format}"` });
  if (issues.length > 0) throw new ConfigError(issues);
  const chosen = (flag ?? format) as LogFormat | undefined;
  return { level: level as LogChoice['level'], format: chosen ?? (command === 'run' && !io.stderr.isTTY ? 'json' : 'pretty') };
}

/** The process logger for a command, on stderr as `io.log` says (`level` when LOG_LEVEL is unset), secrets redacted. */
export function commandLogger(io: CliIo, level = 'info'): Logger {
  return createLogger(io.log?.level ?? level, io.stderr, { format: io.log?.format ?? 'json', colour: Boolean(io.stderr.isTTY) });
}

export type { ApiSource } from '../runpod/switching.js';

/** `--source graphql|rest`, shared by the commands that call RunPod; GraphQL unless asked. */
export function sourceOption(): Option {
  return new Option('--source <source>', "RunPod API to call: graphql, or rest (REST v2, at api.restUrl or RUNPOD_REST_URL)").choices(['graphql', 'rest']).default('graphql');
}

/**
 * Reads the config (required only when named explicitly: `gpus` and `pods` work without one)
 * and builds the RunPod client for `source` from it and the environment. REST v2 answers nothing
 * without a key, the catalog included.
 */
export async function apiContext(
  flag: string | undefined,
  io: CliIo,
  options: { needsKey: boolean; source: ApiSource },
): Promise<{ config: Config; client: RunpodApi; logger: Logger }> {
  if (!io.env.RUNPOD_API_KEY) {
    if (options.source === 'rest') throw new UsageError('--source rest needs RUNPOD_API_KEY (RunPod REST v2 answers nothing without a key)');
    if (options.needsKey) throw new UsageError('this command needs RUNPOD_API_KEY (pods and mutations are not public)');
  }
  const { path, explicit } = configPath(flag, io);
  const config = await loadConfig(path, io.env, { required: explicit });
  const logger = commandLogger(io);
  return { config, client: runpodClient(config, io.env.RUNPOD_API_KEY, logger, options.source), logger };
}

/** The RunPod client for `source`, at the config's URLs, with `apiKey` (none: public reads only). */
export function runpodClient(config: Config, apiKey: string | undefined, logger: Logger, source: ApiSource): RunpodApi {
  const common = { apiKey, timeoutMs: config.poll.timeout, logger };
  return source === 'rest' ? new RunpodRestClient({ url: config.api.restUrl, ...common }) : new RunpodGraphqlClient({ url: config.api.url, ...common });
}

/** Parses a positive whole number option, or throws a one-line usage error. */
export function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} must be a whole number of at least 1, got "${value}"`);
  return n;
}

/** Checks a `HOST:PORT` flag (port 0: any free one) before anything starts, or throws an OptionError naming it. */
export function listenFlag(value: string, option: string): string {
  const problem = listenProblem(value, { anyPort: true });
  if (problem) throw new OptionError(`${option}: "${value}" ${problem}`);
  return value;
}

/** Parses a TCP port option (1 to 65535), or throws a one-line usage error. */
export function portOption(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535) throw new UsageError(`${option} must be a port from 1 to 65535, got "${value}"`);
  return n;
}

/** Parses a price option, or throws a one-line usage error. */
export function price(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${option} must be a price above 0, got "${value}"`);
  return n;
}

/** `--format text|json|csv`, shared by history and insights; `--json` stays a short way to say json. */
export function formatOption(): Option {
  return new Option('--format <format>', 'text, json, or csv (for spreadsheets and notebooks)').choices(['text', 'json', 'csv']);
}

/** The format asked for: `--format`, else json for `--json`, else text. */
export function chosenFormat(opts: { format?: string; json?: boolean }): 'text' | 'json' | 'csv' {
  return (opts.format as 'text' | 'json' | 'csv' | undefined) ?? (opts.json ? 'json' : 'text');
}

/** Reads `--since` (a duration back from `now`, or a date), or throws an OptionError naming the flag. */
export function sinceOption(value: string, now: number): number {
  const since = parseSince(value, now);
  if ('error' in since) throw new OptionError(`--since: ${since.error}`);
  return since.at;
}

/** A flag value that cannot be used, like a bad config value: printed as one line naming the flag, exit 78. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}

/** A wrong command line: printed as one line, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
