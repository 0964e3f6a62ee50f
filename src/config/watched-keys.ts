import { keyId, type WatchKey } from '../runpod/types.js';
import type { Config } from './schema.js';

/** A key the watcher records, with what in the config asked for it. */
export interface WatchedKey {
  key: WatchKey;
  sources: string[];
}

/** Every key to poll: `watch` entries plus each alert's and each rule candidate's, deduplicated. */
export function watchedKeys(config: Config): WatchedKey[] {
  const byId = new Map<string, WatchedKey>();
  const add = (key: WatchKey, source: string): void => {
    const entry = byId.get(keyId(key)) ?? { key, sources: [] };
    if (!entry.sources.includes(source)) entry.sources.push(source);
    byId.set(keyId(key), entry);
  };
  for (const w of config.watch) add({ gpuTypeId: w.gpu, gpuCount: w.gpuCount, cloud: w.cloud }, 'watch');
  for (const a of config.alerts) add({ gpuTypeId: a.gpu, gpuCount: a.gpuCount, cloud: a.cloud }, `alert ${a.name}`);
  for (const r of config.rules) {
    for (const c of r.candidates) add({ gpuTypeId: c.gpu, gpuCount: r.gpuCount, cloud: r.cloud }, `rule ${r.name}`);
  }
  return [...byId.values()];
}
