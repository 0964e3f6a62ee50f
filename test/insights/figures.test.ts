import { describe, expect, it } from 'vitest';
import { buildInsights } from '../../src/insights/document.js';
import type { DeployableFloor } from '../../src/insights/floors.js';
import { openStore, type Store } from '../../src/store/store.js';
import { KEY_A } from '../helpers/offers.js';
import { recordScript } from '../helpers/scripted-history.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const STEP = 5 * MIN;
const ANY: () => DeployableFloor = () => ({ floor: 'Low', from: 'watch' });

/** A GPU in stock every weekday 09:00-12:00 UTC (High), out otherwise, polled every 5 minutes over `weeks` from `monday`. */
function weekdayMornings(store: Store, monday: number, weeks: number): void {
  recordScript(store, KEY_A, monday, monday + weeks * 7 * DAY, STEP, (t) => {
    const day = (Math.floor((t - monday) / DAY) % 7) as number;
    const hour = new Date(t).getUTCHours();
    return day < 5 && hour >= 9 && hour < 12 ? { stock: 'High' } : { stock: 'None' };
  });
}

const zeroGrid = (): number[][] => Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 0));

describe('insights over a GPU in stock every weekday 09:00-12:00 UTC', () => {
  const monday = Date.UTC(2026, 0, 5); // Monday 5 January 2026
  const store = openStore(':memory:');
  weekdayMornings(store, monday, 4);
  const insight = buildInsights(store.history, ANY, { since: monday, now: monday + 28 * DAY, timeZone: 'UTC' }).keys[0];

  it('the grid is those three hours of each weekday, four hours each over four weeks, and nothing else', () => {
    const hours = zeroGrid();
    const share = zeroGrid() as (number | null)[][];
    for (let day = 0; day < 5; day++) for (const hour of [9, 10, 11]) (hours[day] as number[])[hour] = 4;
    for (let day = 0; day < 5; day++) for (const hour of [9, 10, 11]) (share[day] as number[])[hour] = 1;
    expect(insight?.hourOfWeek.deployableHours).toEqual(hours);
    expect(insight?.hourOfWeek.share).toEqual(share);
  });

  it('the shares, outage and stretch lengths are those of the script', () => {
    expect(insight?.observedMs).toBe(28 * DAY);
    expect(insight?.stockShare).toEqual({ None: 1 - 60 / (28 * 24), Low: 0, Medium: 0, High: 60 / (28 * 24), });
    // 16 nights of 21 h (Mon-Thu 12:00 to 09:00) and 3 weekends of 69 h are whole; the first
    // morning's and the last weekend's are cut by the window.
    expect(insight?.outages).toEqual({ count: 19, censored: 2, p50Ms: 21 * HOUR, p90Ms: 69 * HOUR });
    expect(insight?.stretches).toEqual({ count: 20, censored: 0, p50Ms: 3 * HOUR, p90Ms: 3 * HOUR });
    // Now, on Monday 00:00, it has been out 60 h: only the three whole weekends lasted longer.
    expect(insight?.now).toEqual({ deployable: false, forMs: 60 * HOUR, forAtLeast: false });
    expect(insight?.backWithin).toEqual({ outForMs: 60 * HOUR, sample: 3, chances: null });
    expect(insight?.notes).toEqual(['only 3 recorded outage(s) lasted longer than the 2d 12h it has been out: too few to judge when it comes back']);
  });

  it('in Berlin across the change to summer time, the same mornings move an hour later', () => {
    const before = Date.UTC(2026, 2, 23); // Monday 23 March 2026; clocks go forward on Sunday 29 March
    const berlin = openStore(':memory:');
    weekdayMornings(berlin, before, 2);
    const { keys } = buildInsights(berlin.history, ANY, { since: before, now: before + 14 * DAY, timeZone: 'Europe/Berlin' });
    const hours = zeroGrid();
    for (let day = 0; day < 5; day++) (hours[day] as number[]).splice(10, 4, 1, 2, 2, 1); // 10-13 CET, then 11-14 CEST
    expect(keys[0]?.hourOfWeek.deployableHours).toEqual(hours);
  });
});

describe('outages of known lengths', () => {
  // After an hour in stock, each outage listed (minutes), then an hour in stock again; at the end
  // an outage that began 35 minutes before now.
  const lengths = [600, 10, 240, 20, 30, 120, 40, 50, 90, 60];
  const t0 = Date.UTC(2026, 5, 1);
  function script(withGaps: boolean): { store: Store; now: number } {
    const store = openStore(':memory:');
    const spans: { from: number; to: number; stock: 'High' | 'None' | 'failed' }[] = [];
    let t = t0;
    const span = (minutes: number, stock: 'High' | 'None' | 'failed'): void => {
      spans.push({ from: t, to: t + minutes * MIN, stock });
      t += minutes * MIN;
    };
    for (const outage of lengths) {
      span(60, 'High');
      span(outage, 'None');
    }
    span(60, 'High');
    if (withGaps) {
      // An outage cut by failed polls, and a stretch cut by them: both censored, neither counted.
      span(30, 'None');
      span(20, 'failed');
      span(30, 'None');
      span(60, 'High');
      span(20, 'failed');
      span(60, 'High');
    }
    span(35, 'None');
    const now = t;
    recordScript(store, KEY_A, t0, now, STEP, (at) => {
      const s = spans.find((x) => at >= x.from && at < x.to) ?? spans[spans.length - 1];
      return s?.stock === 'failed' ? 'failed' : { stock: s?.stock ?? 'None' };
    });
    return { store, now };
  }

  it.each([false, true])('percentiles and back-within chances are exact (gaps from failed polls: %s)', (withGaps) => {
    const { store, now } = script(withGaps);
    const insight = buildInsights(store.history, ANY, { since: t0, now, timeZone: 'UTC' }).keys[0];
    // Sorted: 10 20 30 40 50 60 90 120 240 600; nearest rank p50 = 5th, p90 = 9th.
    // Censored: the outage going on now and, with gaps, both pieces of the one a gap cut.
    expect(insight?.outages).toEqual({ count: 10, censored: withGaps ? 3 : 1, p50Ms: 50 * MIN, p90Ms: 240 * MIN });
    expect(insight?.now).toEqual({ deployable: false, forMs: 35 * MIN, forAtLeast: false });
    // Out 35 min: of the 7 outages longer (40 50 60 90 120 240 600), 2 ended within 50 min, 4 within 95, 6 within 395.
    expect(insight?.backWithin).toEqual({ outForMs: 35 * MIN, sample: 7, chances: { '15m': 2 / 7, '1h': 4 / 7, '6h': 6 / 7 } });
    // The first hour in stock starts at the window's start; with gaps, the two hours a gap cuts are censored too.
    expect(insight?.stretches).toEqual({ count: 10, censored: withGaps ? 3 : 1, p50Ms: HOUR, p90Ms: HOUR });
    // Gaps are neither deployable nor out: two of 20 minutes plus the poll step on each side.
    expect(insight?.gapMs).toBe(withGaps ? 2 * (20 * MIN + STEP) : 0);
    const recorded = (now - t0) - (withGaps ? 2 * (20 * MIN + STEP) : 0);
    expect(insight?.observedMs).toBe(recorded);
    // A state before a gap is known only to its last poll: the hour in stock before the second gap loses one step.
    expect(insight?.stockShare.High).toBe(((withGaps ? 13 : 11) * HOUR - (withGaps ? STEP : 0)) / recorded);
  });

  it('with no time out now, the chances are over every whole outage', () => {
    const { store, now } = script(false);
    const insight = buildInsights(store.history, ANY, { since: t0, now: now - 40 * MIN, timeZone: 'UTC' }).keys[0];
    expect(insight?.now?.deployable).toBe(true);
    expect(insight?.backWithin).toEqual({ outForMs: 0, sample: 10, chances: { '15m': 0.1, '1h': 0.6, '6h': 0.9 } });
  });
});

describe('on-demand price', () => {
  it('p10 / p50 / p90 weigh each price by the time it held, and the trend compares the halves', () => {
    const store = openStore(':memory:');
    const t0 = Date.UTC(2026, 5, 1);
    // $2.00 for 5 h, $3.00 for 4 h, $4.00 for the last hour.
    recordScript(store, KEY_A, t0, t0 + 10 * HOUR, STEP, (t) => ({ stock: 'High', price: t < t0 + 5 * HOUR ? 2 : t < t0 + 9 * HOUR ? 3 : 4 }));
    const insight = buildInsights(store.history, ANY, { since: t0, now: t0 + 10 * HOUR, timeZone: 'UTC' }).keys[0];
    expect(insight?.price).toEqual({ p10: 2, p50: 2, p90: 3, trend: { firstHalfP50: 2, secondHalfP50: 3, change: 1 } });
  });
});
