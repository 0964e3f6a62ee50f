import { humanDuration } from '../lib/duration.js';
import { usd } from '../lib/format.js';
import { STOCK_LEVELS } from '../runpod/types.js';
import type { InsightsDocument } from './document.js';
import type { KeyInsight, LengthSummary } from './report.js';

const percent = (share: number | null): string => (share === null ? '-' : `${Math.round(share * 100)}%`);
const duration = (ms: number | null): string => (ms === null ? '-' : humanDuration(ms));

function lengthsLine(name: string, runs: LengthSummary): string {
  const cut = runs.censored > 0 ? `; ${runs.censored} cut by a gap or the window, not counted` : '';
  return `  ${name}: ${runs.count} whole, p50 ${duration(runs.p50Ms)}, p90 ${duration(runs.p90Ms)}${cut}`;
}

function nowLine(k: KeyInsight): string {
  if (!k.now) return '  now: no recent poll';
  const atLeast = k.now.forAtLeast ? 'at least ' : '';
  return `  now: ${k.now.deployable ? 'deployable' : 'out'} for ${atLeast}${humanDuration(k.now.forMs)}`;
}

function backWithinLine(k: KeyInsight): string {
  const { chances, sample, outForMs } = k.backWithin;
  const given = outForMs > 0 ? `outages longer than ${humanDuration(outForMs)}` : 'outages';
  if (!chances) return `  back within: too few ${given} to judge (${sample})`;
  return `  back within 15m ${percent(chances['15m'])}, 1h ${percent(chances['1h'])}, 6h ${percent(chances['6h'])} (of ${sample} ${given})`;
}

function priceLine(k: KeyInsight): string {
  const { p10, p50, p90, trend } = k.price;
  if (p50 === null) return '  on-demand: no price recorded';
  const change = trend.change === null ? '' : `; first half p50 ${usd(trend.firstHalfP50)}, second half ${usd(trend.secondHalfP50)} (${trend.change >= 0 ? '+' : '-'}${usd(Math.abs(trend.change))})`;
  return `  on-demand: p10 ${usd(p10)}, p50 ${usd(p50)}, p90 ${usd(p90)}${change}`;
}

/** The hour-of-week grid as rows of percentages, `.` where nothing was recorded. */
function gridLines(k: KeyInsight, timeZone: string): string[] {
  const header = `       ${Array.from({ length: 24 }, (_, h) => String(h).padStart(4)).join('')}`;
  const rows = k.hourOfWeek.days.map((day, d) => `    ${day}${(k.hourOfWeek.share[d] ?? []).map((s) => (s === null ? '   .' : String(Math.round(s * 100)).padStart(4))).join('')}`);
  return [`  % of the time deployable, by hour of the week (${timeZone}):`, header, ...rows];
}

function keyBlock(k: KeyInsight, timeZone: string): string {
  const shares = STOCK_LEVELS.map((level) => `${level} ${percent(k.stockShare[level])}`).join(', ');
  return [
    `${k.label} (deployable at ${k.deployableAt} or more: ${k.deployableFrom})`,
    `  recorded ${humanDuration(k.observedMs)}${k.gapMs > 0 ? `, gaps ${humanDuration(k.gapMs)} left out` : ''}`,
    `  stock: ${shares}; deployable ${percent(k.deployableShare)}`,
    nowLine(k),
    lengthsLine('outages', k.outages),
    lengthsLine('deployable stretches', k.stretches),
    backWithinLine(k),
    priceLine(k),
    ...gridLines(k, timeZone),
    ...k.notes.map((note) => `  note: ${note}`),
  ].join('\n');
}

/** The insights for people: a block per key. */
export function insightsToText(document: InsightsDocument): string {
  if (document.keys.length === 0) return 'no history recorded for that\n';
  return `${document.keys.map((k) => keyBlock(k, document.timeZone)).join('\n\n')}\n`;
}
