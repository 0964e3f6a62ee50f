import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StockLevel } from '../../src/runpod/types.js';
import { configSchema, type AlertConfig } from '../../src/config/schema.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { QUIET, stepAlert } from '../../src/alerts/step.js';
import type { AlertState } from '../../src/store/repositories.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';
import { onDisk } from '../helpers/on-disk.js';

const MIN = 60_000;
const alertOf = (fields: Record<string, unknown>): AlertConfig => {
  const alert = configSchema.parse({ alerts: [{ name: 'h100', gpu: 'NVIDIA H100 80GB HBM3', when: { stockAtLeast: 'Low' }, ...fields }] }).alerts[0];
  if (!alert) throw new Error('no alert');
  return alert;
};

/** Feeds a sequence of poll answers (true: holds, false: not, null: no answer) and lists the events with their poll index. */
function run(alert: AlertConfig, polls: (boolean | null)[], everyMs = MIN, start: AlertState = QUIET): string[] {
  let state = start;
  const events: string[] = [];
  polls.forEach((holds, i) => {
    const step = stepAlert(alert, state, holds ?? undefined, i * everyMs);
    state = step.state;
    if (step.event) events.push(`${i}:${step.event}`);
  });
  return events;
}

describe('alert steps', () => {
  it.each([
    ['for 1 fires at once and resolves at once', { for: 1 }, [false, true, true, false], ['1:alert.fired', '3:alert.resolved']],
    ['for 2 ignores a single flap either way', { for: 2 }, [true, false, true, false, true, true, false, true, false, false], ['5:alert.fired', '9:alert.resolved']],
    ['for 2 fires after two agreeing polls', { for: 2 }, [true, true], ['1:alert.fired']],
    ['for 3 needs three in a row', { for: 3 }, [true, true, false, true, true, true], ['5:alert.fired']],
    ['a poll with no answer neither agrees nor disagrees', { for: 2 }, [true, null, true, false, null, false], ['2:alert.fired', '5:alert.resolved']],
    ['resolved: false stays quiet when it stops holding', { for: 1, resolved: false }, [true, false, true], ['0:alert.fired', '2:alert.fired']],
  ] as const)('%s', (_name, fields, polls, expected) => {
    expect(run(alertOf(fields), [...polls])).toEqual(expected);
  });

  it('repeat reminds at the right times while it holds, and not after it resolves', () => {
    const alert = alertOf({ repeat: '1h' });
    // a poll every 10 minutes; holds for 2h30, then not
    const polls = [...new Array(16).fill(true), false, false, false, false, false, false, false];
    expect(run(alert, polls, 10 * MIN)).toEqual(['0:alert.fired', '6:alert.reminder', '12:alert.reminder', '16:alert.resolved']);
  });

  it('checks every given condition', () => {
    const offer = (stock: StockLevel, od: number | null, bid: number | null) => ({
      key: { gpuTypeId: 'x', gpuCount: 1, cloud: 'ALL' as const },
      displayName: null,
      stock,
      stockRaw: stock,
      onDemandPrice: od,
      minBidPrice: bid,
      availableGpuCounts: null,
    });
    const alert = alertOf({ when: { stockAtLeast: 'Medium', maxPrice: 3.5, maxBid: 2 } });
    return import('../../src/alerts/step.js').then(({ alertHolds }) => {
      expect(alertHolds(alert, offer('High', 3.5, 2))).toBe(true);
      expect(alertHolds(alert, offer('Low', 3, 1))).toBe(false);
      expect(alertHolds(alert, offer('High', 3.6, 1))).toBe(false);
      expect(alertHolds(alert, offer('High', null, 1))).toBe(false);
      expect(alertHolds(alert, offer('High', 3, 2.1))).toBe(false);
    });
  });
});

describe('alerts in the daemon', () => {
  let sim: RunpodSimulator;
  afterEach(async () => {
    await sim.close();
  });

  const YAML = `
notifiers: { ops: { type: slack, url: "http://127.0.0.1:9/slack" } }
alerts:
  - { name: h100-back, gpu: NVIDIA H100 80GB HBM3, cloud: SECURE, when: { stockAtLeast: Low, maxPrice: 3.50 }, for: 2, notify: [ops] }
`;

  it('fires on flapping stock only after two agreeing polls, and a restart neither re-fires nor forgets', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const dbPath = join(await mkdtemp(join(tmpdir(), 'gw-alerts-')), 'a.db');
    const first = daemonFor(sim, YAML, { dbPath });
    const poll = async (d: typeof first, stock: string | null, price: number | null) => {
      sim.market.set({ gpu: 'NVIDIA H100 80GB HBM3', cloud: 'SECURE', stock, price });
      d.clock.advance(30_000);
      await d.watcher.tick();
    };
    await poll(first, 'Low', 2.99);
    await poll(first, null, null);
    await poll(first, 'Low', 2.99);
    expect(first.events()).toEqual([]);
    await poll(first, 'Low', 2.99);
    expect(first.events().map((e) => [e.type, e.alert])).toEqual([['alert.fired', 'h100-back']]);
    expect(first.events()[0]?.summary).toBe('h100-back: NVIDIA H100 80GB HBM3 x1 SECURE now matches (stock >= Low, on-demand <= $3.50/GPU/hr): stock Low, on-demand $2.99/GPU/hr, min bid no price');
    first.store.close();

    const second = daemonFor(sim, YAML, { dbPath, clock: first.clock });
    await poll(second, 'Low', 2.99);
    await poll(second, 'None', null);
    expect(second.events().map((e) => e.type)).toEqual(['alert.fired']);
    await poll(second, 'None', null);
    expect(second.events().map((e) => e.type)).toEqual(['alert.fired', 'alert.resolved']);
    expect(onDisk(dbPath, (db) => db.prepare("SELECT notifier, status FROM deliveries").all())).toEqual([
      { notifier: 'ops', status: 'pending' },
      { notifier: 'ops', status: 'pending' },
    ]);
    second.store.close();
  });
});
