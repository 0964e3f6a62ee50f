import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { notifierRoutes, routes } from '../../src/config/routing.js';
import { parseConfig } from '../../src/config/load.js';
import { describeConfig } from '../../src/config/describe.js';
import { EVENT_SEVERITY, EVENT_TYPES, SEVERITIES, newEvent, type EventType } from '../../src/events/event.js';
import { openStore } from '../../src/store/store.js';
import { onDisk, tempDbPath } from '../helpers/on-disk.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

// Which notifier takes which event: `events` globs and `minSeverity`, as a table.

type Routing = Parameters<typeof routes>[0];

const TABLE: [string, Routing, EventType, boolean][] = [
  ['no routing takes everything', {}, 'pod.deployed', true],
  ['no routing takes info', {}, 'rule.fallback', true],
  ['an exact type', { events: ['api.down'] }, 'api.down', true],
  ['an exact type only', { events: ['api.down'] }, 'api.up', false],
  ['a prefix glob', { events: ['pod.*'] }, 'pod.deploy_failed', true],
  ['a prefix glob, another family', { events: ['pod.*'] }, 'rule.fallback', false],
  ['a glob does not cross the family by its prefix alone', { events: ['api.*'] }, 'account.payment_required', false],
  ['any of several globs', { events: ['pod.*', 'api.down'] }, 'api.down', true],
  ['a suffix glob', { events: ['*.resolved'] }, 'alert.resolved', true],
  ['a star in the middle', { events: ['pod.*_failed'] }, 'pod.deploy_failed', true],
  ['a star in the middle, not matching', { events: ['pod.*_failed'] }, 'pod.deployed', false],
  ['the whole star', { events: ['*'] }, 'spot.unavailable', true],
  ['a dot is a dot, not any character', { events: ['api.up'] }, 'api.up', true],
  ['minSeverity warning drops info', { minSeverity: 'warning' }, 'pod.deployed', false],
  ['minSeverity warning keeps warning', { minSeverity: 'warning' }, 'pod.deploy_failed', true],
  ['minSeverity warning keeps critical', { minSeverity: 'warning' }, 'api.down', true],
  ['minSeverity critical drops warning', { minSeverity: 'critical' }, 'alert.fired', false],
  ['minSeverity critical keeps api.down', { minSeverity: 'critical' }, 'api.down', true],
  ['minSeverity critical keeps the end of what it was told', { minSeverity: 'critical' }, 'api.up', true],
  ['minSeverity info is everything', { minSeverity: 'info' }, 'test', true],
  ['both: glob matches but too mild', { events: ['pod.*'], minSeverity: 'warning' }, 'pod.deployed', false],
  ['both: severe enough but not matched', { events: ['pod.*'], minSeverity: 'warning' }, 'api.down', false],
  ['both: matched and severe enough', { events: ['pod.*'], minSeverity: 'warning' }, 'pod.over_price', true],
  ['the pager: outages and alerts', { events: ['api.*', 'alert.*'], minSeverity: 'warning' }, 'alert.resolved', true],
  ['the pager: not deploys', { events: ['api.*', 'alert.*'], minSeverity: 'warning' }, 'pod.deployed', false],
];

describe('routing', () => {
  it.each(TABLE)('%s: %j takes %s → %s', (_why, routing, type, takes) => {
    expect(routes(routing, type)).toBe(takes);
  });

  it('every event type has a severity, one of the three', () => {
    for (const type of EVENT_TYPES) expect(SEVERITIES).toContain(EVENT_SEVERITY[type]);
    expect(Object.keys(EVENT_SEVERITY).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('docs/events.md shows each type’s severity as the code has it', () => {
    const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_.]+)` \| (info|warning|critical) \|/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(EVENT_SEVERITY);
  });

  it('`check` shows each notifier’s routing', () => {
    const config = parseConfig(
      `notifiers:
  pager: { type: pagerduty, routingKey: k, events: [api.*, alert.*], minSeverity: warning }
  ops: { type: slack, url: "https://hooks.slack.com/services/T/B/X" }
`,
      'routing.yaml',
      {},
    );
    expect(describeConfig(config, false)).toContain('notifiers: pager (pagerduty, events api.* alert.*, warning and up), ops (slack)');
  });

  it('the outbox makes a delivery only to the named notifiers that take the event, and keeps the event', () => {
    const config = parseConfig(
      `notifiers:
  pager: { type: pagerduty, routingKey: k, events: [api.*, alert.*], minSeverity: warning }
  ops: { type: slack, url: "https://hooks.slack.com/services/T/B/X", events: [pod.*, rule.*] }
  audit: { type: webhook, url: "https://example.com/hook" }
`,
      'routing.yaml',
      {},
    );
    const store = openStore(tempDbPath(), { route: notifierRoutes(config.notifiers) });
    const all = ['pager', 'ops', 'audit'];
    const sent: [EventType, string[]][] = [
      ['api.down', all],
      ['pod.deployed', all],
      ['rule.exhausted', ['pager']],
      ['budget.blocked', all],
    ];
    for (const [type, names] of sent) store.outbox.append(newEvent({ type, summary: type }, Date.UTC(2026, 10, 29)), names);
    const rows = onDisk(store.path, (db) => db.prepare('SELECT e.type, (SELECT group_concat(notifier) FROM (SELECT notifier FROM deliveries d WHERE d.event_id = e.id ORDER BY notifier)) AS notifiers FROM events e ORDER BY e.rowid').all());
    expect(rows).toEqual([
      { type: 'api.down', notifiers: 'audit,pager' },
      { type: 'pod.deployed', notifiers: 'audit,ops' },
      { type: 'rule.exhausted', notifiers: null },
      { type: 'budget.blocked', notifiers: 'audit' },
    ]);
    store.close();
  });
});

describe('routing in the running daemon', () => {
  it('the pager gets the outage (trigger, then resolve with the same key) and chat gets the deploy, nothing else', async () => {
    const sim = await RunpodSimulator.start(testMarket());
    const capture = await CaptureServer.start();
    try {
      const d = daemonFor(
        sim,
        `notifiers:
  pager: { type: pagerduty, routingKey: R0UTINGKEY0123456789abcdef012345, url: "${capture.url('/pd')}", events: [api.*, alert.*], minSeverity: warning }
  chat: { type: discord, url: "${capture.url('/discord')}", events: [pod.*] }
rules:
  - name: trainer
    cloud: SECURE
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch }
    notify: [pager, chat]
`,
      );
      await d.watcher.tick();
      sim.fault({ kind: 'status', status: 502, times: 9, op: 'gpuTypes' });
      for (let i = 0; i < 4; i++) {
        d.clock.advance(30_000);
        await d.watcher.tick();
      }
      await d.dispatcher.deliverDue();
      expect(d.events().map((e) => e.type)).toEqual(['pod.deployed', 'api.down', 'api.up']);
      const got = (path: string) => capture.accepted().filter((r) => r.path === path).map((r) => JSON.parse(r.body) as Record<string, unknown>);
      expect(got('/discord').map((b) => (b.embeds as { title: string }[])[0]?.title)).toEqual(['trainer: pod.deployed']);
      const pd = got('/pd') as { event_action: string; dedup_key: string }[];
      expect(pd.map((b) => b.event_action)).toEqual(['trigger', 'resolve']);
      expect(pd[0]?.dedup_key).toMatch(/^gpu-watcher\/api\.down\/\d{4}-/);
      expect(pd[1]?.dedup_key).toBe(pd[0]?.dedup_key);
      d.store.close();
    } finally {
      await sim.close();
      await capture.close();
    }
  });

  it('the resolve matches the trigger across a restart', async () => {
    const sim = await RunpodSimulator.start(testMarket());
    const capture = await CaptureServer.start();
    const dbPath = tempDbPath();
    const yaml = `notifiers:
  pager: { type: pagerduty, routingKey: R0UTINGKEY0123456789abcdef012345, url: "${capture.url('/pd')}" }
watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]
`;
    try {
      const before = daemonFor(sim, yaml, { dbPath });
      sim.fault({ kind: 'status', status: 502, times: 9, op: 'gpuTypes' });
      for (let i = 0; i < 3; i++) {
        before.clock.advance(30_000);
        await before.watcher.tick();
      }
      await before.dispatcher.deliverDue();
      before.store.close();
      const after = daemonFor(sim, yaml, { dbPath });
      after.clock.advance(120_000);
      await after.watcher.tick();
      await after.dispatcher.deliverDue();
      const pd = capture.accepted().map((r) => JSON.parse(r.body) as { event_action: string; dedup_key: string });
      expect(pd.map((b) => b.event_action)).toEqual(['trigger', 'resolve']);
      expect(pd[1]?.dedup_key).toBe(pd[0]?.dedup_key);
      after.store.close();
    } finally {
      await sim.close();
      await capture.close();
    }
  });
});
