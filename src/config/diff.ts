import type { Config } from './schema.js';

/** The parts of a config a reload compares entry by entry. */
export const RELOADED_SECTIONS = ['rules', 'alerts', 'resume', 'notifiers', 'watch'] as const;
type Section = (typeof RELOADED_SECTIONS)[number];

/** What changed in one section, by entry name (a `watch` entry is named `GPU xN CLOUD`). */
interface SectionDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** What a reload changes, and what it cannot change while the daemon runs. */
export interface ConfigDiff {
  sections: Record<Section, SectionDiff>;
  /** Other settings that change live (`budget`, `store.retention`), by path. */
  settings: string[];
  /** Settings that changed in the file but need a restart; the running values are kept. */
  needRestart: string[];
}

/**
 * Settings a running daemon cannot take: the database it holds the lease on, the socket it listens
 * on and its token, the RunPod endpoints it switched between, and the schedule its lease's length
 * was derived from.
 */
const RESTART_SETTINGS = ['store.path', 'http', 'api', 'poll'] as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function entries(config: Config, section: Section): Map<string, unknown> {
  if (section === 'notifiers') return new Map(Object.entries(config.notifiers));
  if (section === 'watch') return new Map(config.watch.map((w) => [`${w.gpu} x${w.gpuCount} ${w.cloud}`, w]));
  return new Map(config[section].map((entry) => [entry.name, entry]));
}

function diffSection(before: Map<string, unknown>, after: Map<string, unknown>): SectionDiff {
  const diff: SectionDiff = { added: [], changed: [], removed: [] };
  for (const [name, entry] of after) {
    if (!before.has(name)) diff.added.push(name);
    else if (!same(before.get(name), entry)) diff.changed.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) diff.removed.push(name);
  return diff;
}

function valueAt(config: Config, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], config);
}

/** Compares the running config with a newly read one. */
export function diffConfigs(before: Config, after: Config): ConfigDiff {
  const sections = Object.fromEntries(RELOADED_SECTIONS.map((s) => [s, diffSection(entries(before, s), entries(after, s))])) as Record<Section, SectionDiff>;
  const settings = ['budget', 'store.retention'].filter((path) => !same(valueAt(before, path), valueAt(after, path)));
  const needRestart = RESTART_SETTINGS.filter((path) => !same(valueAt(before, path), valueAt(after, path)));
  return { sections, settings, needRestart };
}

/** Whether the reload changes anything the daemon runs on. */
export function diffIsEmpty(diff: ConfigDiff): boolean {
  return diff.settings.length === 0 && RELOADED_SECTIONS.every((s) => Object.values(diff.sections[s]).every((names) => names.length === 0));
}

/** `rules: +night, ~trainer; alerts: -old`: one line of what a reload changed. */
export function describeDiff(diff: ConfigDiff): string {
  const parts: string[] = [];
  for (const section of RELOADED_SECTIONS) {
    const { added, changed, removed } = diff.sections[section];
    const names = [...added.map((n) => `+${n}`), ...changed.map((n) => `~${n}`), ...removed.map((n) => `-${n}`)];
    if (names.length > 0) parts.push(`${section}: ${names.join(', ')}`);
  }
  if (diff.settings.length > 0) parts.push(`changed: ${diff.settings.join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing changed';
}

/**
 * The config to run after a reload: the new file's, with every setting that needs a restart kept
 * at its running value (the reload warns about them).
 */
export function keepRestartSettings(running: Config, next: Config): Config {
  return { ...next, store: { ...next.store, path: running.store.path }, http: running.http, api: running.api, poll: running.poll };
}
