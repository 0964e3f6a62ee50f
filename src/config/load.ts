import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { expandEnv } from './expand.js';

/** Where the config lives unless `-c` or GPU_WATCHER_CONFIG says otherwise. */
export const DEFAULT_CONFIG_PATH = 'config/watcher.yaml';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown key' }));
    }
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

/** Parses config text; `source` names the file in messages. Throws ConfigError with every problem. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv): Config {
  const document = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  // Only the first YAML error: the ones after it are usually the parser losing its place.
  const yamlError = document.errors[0];
  if (yamlError) {
    const at = yamlError.linePos?.[0];
    const message = (yamlError.message.split('\n')[0] ?? 'YAML error').replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError([{ path: at ? `${source}:${at.line}:${at.col}` : source, message: `invalid YAML: ${message}` }]);
  }
  const tree: unknown = document.toJS() ?? {};
  if (!isRecord(tree)) throw new ConfigError([{ path: source, message: 'must be a YAML mapping of sections (poll, rules, ...)' }]);
  const expanded = expandEnv(tree, env);
  const raw = expanded.value as Record<string, unknown>;
  const parsed = configSchema.safeParse(raw);
  const issues = [...expanded.issues, ...crossCheck(raw), ...(parsed.success ? [] : zodIssues(parsed.error))];
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  return applyEnvOverrides(parsed.data, env);
}

/** RUNPOD_API_URL and GPU_WATCHER_DB win over the file (flags, applied by the CLI, win over both). */
function applyEnvOverrides(config: Config, env: NodeJS.ProcessEnv): Config {
  const url = env.RUNPOD_API_URL;
  if (url) {
    const problem = !URL.canParse(url) ? 'is not a URL' : /[?&]api_key=/i.test(url) ? 'must not hold the API key: set RUNPOD_API_KEY' : undefined;
    if (problem) throw new ConfigError([{ path: 'RUNPOD_API_URL', message: problem }]);
    config.api.url = url;
  }
  if (env.GPU_WATCHER_DB) config.store.path = env.GPU_WATCHER_DB;
  return config;
}

/**
 * Loads the config file. A missing file is an error when `required`; otherwise the defaults are
 * used, so `gpus` and `pods` work without one.
 */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv, options: { required: boolean }): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !options.required) return parseConfig('{}', path, env);
    throw new ConfigError([{ path, message: code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(error)})` }]);
  }
  return parseConfig(text, path, env);
}
