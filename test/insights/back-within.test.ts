import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackWithinSentences, SENTENCE_REFRESH_MS } from '../../src/insights/back-within.js';
import type { WatchKey } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { openStore, type Store } from '../../src/store/store.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { recordScript } from '../helpers/scripted-history.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const H100: WatchKey = { gpuTypeId: 'NVIDIA H100 80GB HBM3', gpuCount: 1, cloud: 'SECURE' };
const A6000: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };

/** From `from`: 2 h in stock, then `outages` (minutes) each followed by 2 h in stock, then in stock; polled every 5 minutes until `to`. */
function outages(store: Store, key: WatchKey, from: number, to: number, lengths: readonly number[]): void {
  const spans: { to: number; stock: 'High' | 'None' }[] = [];
  let t = from;
  for (const minutes of lengths) spans.push({ to: (t += 2 * HOUR), stock: 'High' }, { to: (t += minutes * MIN), stock: 'None' });
  recordScript(store, key, from, to, 5 * MIN, (at) => ({ stock: spans.find((s) => at < s.to)?.stock ?? 'High' }));
}

describe('the back-within sentence', () => {
  it('is the nearest-rank median of the whole outages of the last 30 days, and stays cached for 5 minutes', () => {
    const clock = new FakeClock();
    const store = openStore(':memory:');
    // Six outages in 17 h; the last, of 90 minutes, ends a minute after now.
    const now = clock.now();
    outages(store, A6000, now + MIN - 17 * HOUR, now + 10 * MIN, [40, 40, 30, 60, 40, 90]);
    const sentences = new BackWithinSentences({ history: store.history, floorOf: () => ({ floor: 'Low', from: 'watch' }), clock });
    expect(sentences.sentence(A6000)).toBe('usually back within 40 min: median of 5 outages over 1 day');
    expect(sentences.sentence(H100)).toBeUndefined();
    // The sixth outage has ended, but the cached sentence holds until 5 minutes have passed.
    clock.advance(SENTENCE_REFRESH_MS - 1);
    expect(sentences.sentence(A6000)).toBe('usually back within 40 min: median of 5 outages over 1 day');
    clock.advance(1);
    expect(sentences.sentence(A6000)).toBe('usually back within 40 min: median of 6 outages over 1 day');
  });

  it('needs 5 whole outages: with 4 there is no sentence', () => {
    const clock = new FakeClock();
    const store = openStore(':memory:');
    outages(store, A6000, clock.now() - 20 * HOUR, clock.now() - 5 * MIN, [40, 40, 30, 60]);
    expect(new BackWithinSentences({ history: store.history, floorOf: () => ({ floor: 'Low', from: 'watch' }), clock }).sentence(A6000)).toBeUndefined();
  });
});

describe('events carry it', () => {
  let sim: RunpodSimulator;
  beforeEach(async () => {
    sim = await RunpodSimulator.start(testMarket());
  });
  afterEach(async () => {
    await sim.close();
  });

  it('rule.exhausted names its first candidate, alert.fired its key, and both pass the published schema', async () => {
    const d = daemonFor(
      sim,
      `
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
alerts: [{ name: a6000-back, gpu: NVIDIA RTX A6000, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]
rules:
  - { name: big, cloud: SECURE, candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 5 }], pod: { imageName: i }, notify: [ops] }
`,
    );
    const now = d.clock.now();
    outages(d.store, H100, now - 20 * HOUR, now - HOUR, [20, 25, 30, 35, 40]);
    outages(d.store, A6000, now - 20 * HOUR, now - HOUR, [10, 10, 10, 10, 10, 10, 10]);
    await d.watcher.tick();
    const events = d.events();
    expect(events.map((e) => [e.type, e.insight])).toEqual([
      ['rule.exhausted', 'NVIDIA H100 80GB HBM3: usually back within 30 min: median of 5 outages over 1 day'],
      ['alert.fired', 'usually back within 10 min: median of 7 outages over 1 day'],
    ]);
    const ajv = new Ajv2020.default({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(new URL('../../docs/events.schema.json', import.meta.url), 'utf8')));
    for (const event of events) expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...events[0], type: 'pod.deploy_failed', details: {}, gpu: undefined })).toBe(false);
  });
});
