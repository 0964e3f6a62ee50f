import { accessSync, constants, existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { configSchema, listen, runpodUrlProblem, type Config } from './schema.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { expandEnv } from './expand.js';
import { knownKeysAt } from './known-keys.js';
import { didYouMean } from '../lib/did-you-mean.js';
import { checkConfigSize, limitIssue, MAX_CONFIG_BYTES, parseYaml } from './read-yaml.js';

/** Where the config lives unless `-c` or GPU_WATCHER_CONFIG says otherwise. */
export const DEFAULT_CONFIG_PATH = 'config/watcher.yaml';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `unknown key`, with the known key it looks like a typo of. */
function unknownKey(key: string, known: readonly string[]): string {
  const meant = didYouMean(key, known);
  return meant ? `unknown key (did you mean "${meant}"?)` : 'unknown key';
}

function zodIssues(error: z.ZodError, raw: Record<string, unknown>): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(configSchema, issue.path, raw);
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: unknownKey(key, known) }));
    }
    // A record key that fails its own check: zod says only "Invalid key in record".
    if (issue.code === 'invalid_key') return issue.issues.map((inner) => ({ path: formatPath(issue.path), message: inner.message }));
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    return [{ path: formatPath(issue.path), message: missing ? 'is required' : issue.message }];
  });
}

/**
 * Checks that need more than one section: names are unique across rules, alerts and resume (events
 * and status name them), and every `notify` entry names a notifier. It reads the raw tree, so
 * these problems are reported together with the per-field ones.
 */
function crossCheck(raw: Record<string, unknown>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const notifiers = isRecord(raw.notifiers) ? Object.keys(raw.notifiers) : [];
  const owners = new Map<string, string>();
  for (const section of ['rules', 'alerts', 'resume'] as const) {
    const list = Array.isArray(raw[section]) ? (raw[section] as unknown[]) : [];
    list.forEach((item, i) => {
      if (!isRecord(item)) return;
      const at = `${section}[${i}]`;
      if (typeof item.name === 'string') {
        const owner = owners.get(item.name);
        if (owner) issues.push({ path: `${at}.name`, message: `"${item.name}" is already the name of ${owner}` });
        else owners.set(item.name, at);
      }
      if (!Array.isArray(item.notify)) return;
      item.notify.forEach((target, j) => {
        if (typeof target === 'string' && !notifiers.includes(target)) {
          const known = notifiers.length ? `defined: ${notifiers.join(', ')}` : 'no notifiers are defined';
          issues.push({ path: `${at}.notify[${j}]`, message: `no notifier named "${target}" (${known})` });
        }
      });
    });
  }
  return issues;
}

/**
 * Parses config text; `source` is the file's path: messages name it, and a relative `store.path`
 * is read from its folder. `absent`: there is no such file and `text` stands for its defaults.
 * Throws ConfigError with every problem.
 */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv, options: { absent?: boolean; dbGiven?: boolean } = {}): Config {
  const tree = parseYaml(text, source);
  if (!isRecord(tree)) throw new ConfigError([{ path: source, message: 'must be a YAML mapping of sections (poll, rules, ...)' }]);
  // Before expansion, which copies each use of an alias; after it, for values that came from ${VAR}.
  const limit = limitIssue(tree);
  if (limit) throw new ConfigError([limit]);
  const expanded = expandEnv(tree, env);
  const raw = expanded.value as Record<string, unknown>;
  const expandedLimit = limitIssue(raw);
  if (expandedLimit) throw new ConfigError([expandedLimit]);
  const parsed = configSchema.safeParse(raw);
  const issues = [...expanded.issues, ...crossCheck(raw), ...(parsed.success ? [] : zodIssues(parsed.error, raw))];
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return applyEnvOverrides(resolveNotifierFiles(resolveStorePath(parsed.data, source, env, !options.absent && !options.dbGiven), source), env);
}

/**
 * Reads a relative e-mail `ca` from the config file's folder, as `store.path`, and refuses one
 * that cannot be read now rather than at the first mail.
 */
function resolveNotifierFiles(config: Config, source: string): Config {
  const issues: ConfigIssue[] = [];
  for (const [name, notifier] of Object.entries(config.notifiers)) {
    if (notifier.type !== 'email' || notifier.ca === undefined) continue;
    const path = resolve(dirname(source), notifier.ca);
    try {
      accessSync(path, constants.R_OK);
      notifier.ca = path;
    } catch {
      issues.push({ path: `notifiers.${name}.ca`, message: `cannot read ${path}` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/**
 * Reads a relative `store.path` from the config file's folder, so the folder a command starts in
 * does not choose the database (and with it the deploy journal). GPU_WATCHER_DB, applied after,
 * stays as given. Older versions read it from the working directory: when a config file names a
 * database that exists only there, it is refused rather than run on an empty journal.
 */
function resolveStorePath(config: Config, source: string, env: NodeJS.ProcessEnv, lookForOlder: boolean): Config {
  const written = config.store.path;
  if (env.GPU_WATCHER_DB || written === ':memory:' || isAbsolute(written)) return config;
  const path = resolve(dirname(source), written);
  const older = resolve(written);
  if (lookForOlder && path !== older && !existsSync(path) && existsSync(older)) {
    throw new ConfigError([
      {
        path: 'store.path',
        message: `"${written}" is read from the config file's folder, as ${path}, which does not exist, but ${older} (from the working directory, where older versions looked) does: move it there, or give store.path as an absolute path`,
      },
    ]);
  }
  config.store.path = path;
  return config;
}

/**
 * RUNPOD_API_URL, RUNPOD_REST_URL, GPU_WATCHER_DB and GPU_WATCHER_HTTP win over the file (flags,
 * applied by the CLI, win over all). GPU_WATCHER_HTTP starts the HTTP server even without an
 * `http` section: a container image sets it to listen on 0.0.0.0.
 */
function applyEnvOverrides(config: Config, env: NodeJS.ProcessEnv): Config {
  const url = (name: 'RUNPOD_API_URL' | 'RUNPOD_REST_URL'): string | undefined => {
    const value = env[name];
    if (!value) return undefined;
    const problem = !URL.canParse(value) ? 'is not a URL' : runpodUrlProblem(value, name === 'RUNPOD_REST_URL');
    if (problem) throw new ConfigError([{ path: name, message: problem }]);
    return value;
  };
  config.api.url = url('RUNPOD_API_URL') ?? config.api.url;
  config.api.restUrl = url('RUNPOD_REST_URL') ?? config.api.restUrl;
  if (env.GPU_WATCHER_DB) config.store.path = env.GPU_WATCHER_DB;
  if (env.GPU_WATCHER_HTTP) {
    const parsed = listen.safeParse(env.GPU_WATCHER_HTTP);
    if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => ({ path: 'GPU_WATCHER_HTTP', message: issue.message })));
    config.http = { token: '', allowedHosts: [], ...config.http, listen: parsed.data };
  }
  return config;
}

/** Reads at most one byte more than a config may have, so neither a huge file nor a device fills memory. */
async function readCapped(file: FileHandle, path: string): Promise<string> {
  checkConfigSize((await file.stat()).size, path);
  const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
  let length = 0;
  while (length < buffer.length) {
    const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  checkConfigSize(length, path);
  return buffer.toString('utf8', 0, length);
}

/**
 * Loads the config file. A missing file is an error when `required`; otherwise the defaults are
 * used, so `gpus` and `pods` work without one. `dbGiven`: a `--db` flag names the database, so
 * `store.path` is not used and not checked.
 */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv, options: { required: boolean; dbGiven?: boolean }): Promise<Config> {
  let text: string;
  try {
    const file = await open(path);
    try {
      text = await readCapped(file, path);
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !options.required) return parseConfig('{}', path, env, { absent: true });
    throw new ConfigError([{ path, message: code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(error)})` }]);
  }
  return parseConfig(text, path, env, { dbGiven: options.dbGiven ?? false });
}
