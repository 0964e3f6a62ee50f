import type { Config } from '../config/schema.js';
import { watchedKeys } from '../config/watched-keys.js';
import { keyId, stockRank, type StockLevel, type WatchKey } from '../runpod/types.js';

/** The stock at which a key counts as deployable, and which part of the config says so. */
export interface DeployableFloor {
  floor: StockLevel;
  /** `rule NAME` (the rule's `minStock`), or `watch` (Low: any stock at all). */
  from: string;
}

/** A plain watch, an alert's key, or a key no longer in the config: deployable at any stock. */
const ANY_STOCK: DeployableFloor = { floor: 'Low', from: 'watch' };

/**
 * How each watched key is judged deployable: at its rules' `minStock` (the lowest, when several
 * rules watch it: then some rule would deploy), or at Low for a key no rule watches.
 */
export function deployableFloors(config: Config | undefined): (key: WatchKey) => DeployableFloor {
  const byKey = new Map<string, DeployableFloor>();
  if (config) {
    const minStock = new Map(config.rules.map((r) => [`rule ${r.name}`, r.minStock]));
    for (const { key, sources } of watchedKeys(config)) {
      for (const source of sources) {
        const floor = minStock.get(source);
        const known = byKey.get(keyId(key));
        if (floor !== undefined && (!known || known.from === 'watch' || stockRank(floor) < stockRank(known.floor))) byKey.set(keyId(key), { floor, from: source });
      }
    }
  }
  return (key) => byKey.get(keyId(key)) ?? ANY_STOCK;
}
