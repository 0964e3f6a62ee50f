import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifiers } from '../../src/notify/registry.js';
import { buildSlackPayload } from '../../src/notify/notifiers/slack.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { openStore } from '../../src/store/store.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { newEvent, type WatcherEvent } from '../../src/events/event.js';
import { capturedLogger } from '../helpers/capture.js';
import { daemonFor } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { testMarket } from '../helpers/market.js';
import { ScriptedReceiver, slackVerdict } from '../helpers/scripted-receiver.js';

const BASE: WatcherEvent = { id: 'evt_1', type: 'pod.deploy_failed', time: '2026-11-29T10:00:00.000Z', dryRun: false, summary: 'refused' };
const event = (fields: Partial<WatcherEvent>): WatcherEvent => ({ ...BASE, ...fields });
type Payload = { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] };
const payload = (e: WatcherEvent) => buildSlackPayload(e) as Payload;
const header = (e: WatcherEvent) => payload(e).blocks.find((b) => b.type === 'header')?.text?.text;
const fields = (e: WatcherEvent) => payload(e).blocks.find((b) => b.fields)?.fields?.map((f) => f.text) ?? [];

describe('Slack payloads: escaped', () => {
  it('writes &, < and > as entities in every text, so nothing becomes a link, a mention or markup', () => {
    const nasty = event({
      summary: 'trainer: RunPod said <script>alert(1)</script> & gave up <!channel>',
      rule: 'a & b <c>',
      alert: '<@U123>',
      gpu: { id: 'NVIDIA <RTX> A6000', gpuCount: 1, cloud: 'SECURE', stockStatus: 'High & dry', uninterruptablePrice: 0.79, minimumBidPrice: null },
      pod: { id: 'p<1>', name: 'x', kind: 'spot', costPerHr: 0.5 },
    });
    const text = ':x: trainer: RunPod said &lt;script&gt;alert(1)&lt;/script&gt; &amp; gave up &lt;!channel&gt;';
    expect(buildSlackPayload(nasty)).toEqual({
      text,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'a &amp; b &lt;c&gt;' } },
        { type: 'section', text: { type: 'mrkdwn', text } },
        {
          type: 'section',
          fields: [
            '*Rule*\na &amp; b &lt;c&gt;',
            '*Alert*\n&lt;@U123&gt;',
            '*GPU*\nNVIDIA &lt;RTX&gt; A6000 x1 SECURE',
            '*Stock*\nHigh &amp; dry',
            '*On-demand*\n$0.79/GPU/hr',
            '*Min bid*\n-/GPU/hr',
            '*Pod*\np&lt;1&gt; (spot, $0.50/hr)',
          ].map((f) => ({ type: 'mrkdwn', text: f })),
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'pod.deploy_failed · 2026-11-29T10:00:00.000Z · evt_1' }] },
      ],
    });
  });
});

describe('Slack payloads: within Block Kit limits (section 3,000, field 2,000, header 150)', () => {
  it('cuts a 10,000-character summary to 3,000 characters', () => {
    const p = payload(event({ summary: 'x'.repeat(10_000) }));
    expect(p.text).toBe(`:x: ${'x'.repeat(2_995)}…`);
    expect(p.text).toHaveLength(3_000);
    expect(p.blocks[0]?.text?.text).toBe(p.text);
  });

  it('cuts a 500-character rule name to 150 in the header, and keeps it whole in its field', () => {
    const e = event({ rule: 'r'.repeat(500) });
    expect(header(e)).toBe(`${'r'.repeat(149)}…`);
    expect(fields(e)).toEqual([`*Rule*\n${'r'.repeat(500)}`]);
  });

  it('cuts a field to 2,000 characters, its label included', () => {
    const e = event({ gpu: { id: 'g'.repeat(5_000), gpuCount: 1, cloud: 'SECURE', stockStatus: 'High', uninterruptablePrice: null, minimumBidPrice: null } });
    expect(fields(e)[0]).toBe(`*GPU*\n${'g'.repeat(1_993)}…`);
    expect(fields(e)[0]).toHaveLength(2_000);
  });

  it('counts the escaped text, and never cuts an entity or a surrogate pair in half', () => {
    // ":x: a" then 5-character entities: the cut at 2,999 falls inside one, so it backs off to its start.
    expect(payload(event({ summary: `a${'&'.repeat(1_000)}` })).text).toBe(`:x: a${'&amp;'.repeat(598)}…`);
    expect(payload(event({ summary: '😀'.repeat(2_000) })).text).toBe(`:x: ${'😀'.repeat(1_497)}…`);
  });
});

describe('Slack payloads: one dry-run marker', () => {
  let sim: RunpodSimulator;
  beforeEach(async () => {
    sim = await RunpodSimulator.start(testMarket());
  });
  afterEach(async () => {
    await sim.close();
  });

  // What Slack shows (the blocks) and what a phone shows (the text) each say it once.
  const count = (text: string): number => text.match(/dry run/gi)?.length ?? 0;
  const markers = (e: WatcherEvent): { shown: number; notified: number } => {
    const { text, blocks } = buildSlackPayload(e);
    return { shown: count(JSON.stringify(blocks)), notified: count(text) };
  };
  const once = { shown: 1, notified: 1 };
  const none = { shown: 0, notified: 0 };

  it('marks an event the rules engine made in a dry run once, whatever its summary already says', async () => {
    const d = daemonFor(
      sim,
      `notifiers: { ops: { type: slack, url: "http://127.0.0.1:9/services/T/B/X" } }
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA H100 80GB HBM3, maxPrice: 5 }, { gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
`,
      { dryRun: true },
    );
    await d.watcher.tick();
    const events = d.events();
    expect(events.map((e) => e.type)).toContain('pod.deployed');
    for (const e of events) expect({ type: e.type, markers: markers(e) }).toEqual({ type: e.type, markers: e.dryRun ? once : none });
    await d.watcher.stop();
  });

  it('marks a bare dry-run event once', () => {
    expect(markers(newEvent({ type: 'api.down', summary: 'RunPod API down', dryRun: true }, 0))).toEqual(once);
  });
});

describe('a receiver that enforces Slack’s limits', () => {
  let slack: ScriptedReceiver;
  beforeEach(async () => {
    slack = await ScriptedReceiver.start(slackVerdict);
  });
  afterEach(async () => {
    await slack.close();
  });

  it('accepts every notice: long summaries, long names, markup', async () => {
    const store = openStore(':memory:');
    const clock = new FakeClock();
    const { logger } = capturedLogger();
    const notifiers = createNotifiers({ ops: { type: 'slack', url: slack.url('/services/T0/B0/X') } }, { fetch: globalThis.fetch, timeoutMs: 5_000 });
    const dispatcher = new Dispatcher({ outbox: store.outbox, notifiers, clock, logger });
    const gpu = (id: string) => ({ id, gpuCount: 1, cloud: 'SECURE', stockStatus: 'High', uninterruptablePrice: 0.79, minimumBidPrice: 0.41 });
    const notices: Parameters<typeof newEvent>[0][] = [
      { type: 'pod.deploy_failed', summary: 's'.repeat(10_000), rule: 'trainer' },
      { type: 'rule.exhausted', summary: 'every candidate refused', rule: 'r'.repeat(500) },
      { type: 'alert.fired', summary: 'back', alert: 'a'.repeat(2_500), gpu: gpu('g'.repeat(5_000)) },
      { type: 'pod.deploy_failed', summary: `<script>alert(1)</script> a & b ${'&'.repeat(3_000)}`, rule: '<b> & <i>'.repeat(40) },
      { type: 'api.down', summary: '😀'.repeat(3_000) },
    ];
    for (const fields of notices) store.outbox.append(newEvent(fields, clock.now()), ['ops']);
    await dispatcher.deliverDue();
    expect(slack.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(store.outbox.depth()).toEqual({ pending: 0, failed: 0 });
  });
});
