import { toCsv, type CsvCell } from '../lib/csv.js';
import { STOCK_LEVELS } from '../runpod/types.js';
import type { InsightsDocument } from './document.js';
import { BACK_WITHIN, type KeyInsight } from './report.js';
import { WEEKDAYS } from './zone.js';

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

/** The CSV columns: the JSON document's fields per key, flattened into dotted names; the grid as one column per weekday and hour. */
const COLUMNS: readonly [string, (k: KeyInsight) => CsvCell][] = [
  ['gpuTypeId', (k) => k.key.gpuTypeId],
  ['gpuCount', (k) => k.key.gpuCount],
  ['cloud', (k) => k.key.cloud],
  ['keyId', (k) => k.keyId],
  ['label', (k) => k.label],
  ['deployableAt', (k) => k.deployableAt],
  ['deployableFrom', (k) => k.deployableFrom],
  ['observedMs', (k) => k.observedMs],
  ['gapMs', (k) => k.gapMs],
  ...STOCK_LEVELS.map((level): [string, (k: KeyInsight) => CsvCell] => [`stockShare.${level}`, (k) => k.stockShare[level]]),
  ['deployableShare', (k) => k.deployableShare],
  ['now.deployable', (k) => k.now?.deployable],
  ['now.forMs', (k) => k.now?.forMs],
  ['now.forAtLeast', (k) => k.now?.forAtLeast],
  ...(['outages', 'stretches'] as const).flatMap((kind) =>
    (['count', 'censored', 'p50Ms', 'p90Ms'] as const).map((field): [string, (k: KeyInsight) => CsvCell] => [`${kind}.${field}`, (k) => k[kind][field]]),
  ),
  ['backWithin.outForMs', (k) => k.backWithin.outForMs],
  ['backWithin.sample', (k) => k.backWithin.sample],
  ...(Object.keys(BACK_WITHIN) as (keyof typeof BACK_WITHIN)[]).map((h): [string, (k: KeyInsight) => CsvCell] => [`backWithin.chances.${h}`, (k) => k.backWithin.chances?.[h]]),
  ['price.p10', (k) => k.price.p10],
  ['price.p50', (k) => k.price.p50],
  ['price.p90', (k) => k.price.p90],
  ['price.trend.firstHalfP50', (k) => k.price.trend.firstHalfP50],
  ['price.trend.secondHalfP50', (k) => k.price.trend.secondHalfP50],
  ['price.trend.change', (k) => k.price.trend.change],
  ['notes', (k) => k.notes.join(' | ')],
  ...WEEKDAYS.flatMap((day, d) => HOURS.map((hour, h): [string, (k: KeyInsight) => CsvCell] => [`hourOfWeek.share.${day}.${hour}`, (k) => k.hourOfWeek.share[d]?.[h]])),
];

/** The insights as CSV: one row per key. */
export function insightsToCsv(document: InsightsDocument): string {
  return toCsv(
    COLUMNS.map(([name]) => name),
    document.keys.map((k) => COLUMNS.map(([, value]) => value(k))),
  );
}
