import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notifierSchema } from '../../src/config/notifiers.js';
import { createNotifiers } from '../../src/notify/registry.js';
import { buildDiscordPayload } from '../../src/notify/notifiers/discord.js';
import { buildTelegramMessage } from '../../src/notify/notifiers/telegram.js';
import { DeliveryError } from '../../src/notify/notifier.js';
import { cut } from '../../src/notify/facts.js';
import type { WatcherEvent } from '../../src/events/event.js';
import { VERSION } from '../../src/lib/version.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { DEPLOYED_EVENT } from '../helpers/sample-event.js';
import { ScriptedReceiver } from '../helpers/scripted-receiver.js';

// The HTTP notifiers other than webhook and Slack: each one's exact request against a capture server.

const EVENT = DEPLOYED_EVENT;

const FOOTER = 'pod.deployed · info · 2026-11-29T10:00:00.000Z · evt_0123456789abcdef';

const FACTS = [
  ['Rule', 'a6000-trainer'],
  ['GPU', 'NVIDIA RTX A6000 x1 SECURE'],
  ['Stock', 'High'],
  ['On-demand', '$0.79/GPU/hr'],
  ['Min bid', '$0.41/GPU/hr'],
  ['Pod', 'abc123 (on-demand, $0.79/hr)'],
] as const;

let capture: CaptureServer;
beforeEach(async () => {
  capture = await CaptureServer.start();
});
afterEach(async () => {
  await capture.close();
});

const deps = { fetch: globalThis.fetch, timeoutMs: 2_000 };

/** The notifier `raw` configures (parsed as the config file's would be), sending to the capture server. */
function notifier(raw: Record<string, unknown>) {
  const built = createNotifiers({ n: notifierSchema.parse(raw) }, deps).get('n');
  if (!built) throw new Error('no notifier built');
  return built;
}

/** The one request the capture server got: method, path, the headers that matter and the parsed body. */
function only(): { method: string; path: string; headers: Record<string, string>; body: unknown } {
  expect(capture.requests).toHaveLength(1);
  const [request] = capture.requests;
  if (!request) throw new Error('no request');
  return { method: request.method, path: request.path, headers: request.headers, body: JSON.parse(request.body) };
}

const JSON_HEADERS = { 'content-type': 'application/json', 'user-agent': `gpu-watcher/${VERSION}` };

describe('discord', () => {
  it('POSTs one embed with the facts, coloured by severity, mentioning no one', async () => {
    expect(await notifier({ type: 'discord', url: capture.url('/api/webhooks/123456789012345678/tok_abcdefghijklmnopqrstuvwxyz') }).send(EVENT)).toEqual({ status: 200 });
    const request = only();
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/api/webhooks/123456789012345678/tok_abcdefghijklmnopqrstuvwxyz');
    expect(request.headers).toMatchObject(JSON_HEADERS);
    expect(request.body).toEqual({
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: 'a6000-trainer: pod.deployed',
          description: EVENT.summary,
          color: 0x3498db,
          fields: FACTS.map(([name, value]) => ({ name, value, inline: true })),
          footer: { text: FOOTER },
          timestamp: '2026-11-29T10:00:00.000Z',
        },
      ],
    });
  });

  it('cuts title and description to Discord limits, keeping the whole embed within 6,000 characters', () => {
    // Long names fill the fields too: the description gets only what the rest leaves of 6,000.
    const long = {
      ...EVENT,
      rule: 'r'.repeat(1_000),
      summary: `${'s'.repeat(2_590)}😀 and ${'m'.repeat(3_000)}`,
      gpu: { ...EVENT.gpu, id: 'g'.repeat(1_000) } as WatcherEvent['gpu'],
      pod: { ...EVENT.pod, id: 'p'.repeat(1_000) } as WatcherEvent['pod'],
    };
    const embed = (buildDiscordPayload(long) as { embeds: { title: string; description: string; fields: { name: string; value: string }[]; footer: { text: string } }[] }).embeds[0];
    if (!embed) throw new Error('no embed');
    expect(embed.title).toHaveLength(256);
    expect(embed.title.endsWith('…')).toBe(true);
    const total = embed.title.length + embed.description.length + embed.footer.text.length + embed.fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
    expect(total).toBe(6_000);
    expect(embed.description.length).toBeLessThan(4_096);
    expect(embed.fields.every((f) => f.value.length <= 1_024)).toBe(true);
    expect(embed.description.endsWith('…')).toBe(true);
    // Never half of a surrogate pair: the emoji is either whole or gone.
    expect(embed.description).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('cuts a 5,000-character summary to 4,096 when the rest is small', () => {
    const bare: WatcherEvent = { id: 'evt_1', type: 'api.down', time: EVENT.time, dryRun: false, summary: 'x'.repeat(5_000) };
    const [embed] = (buildDiscordPayload(bare) as { embeds: { description: string }[] }).embeds;
    expect(embed?.description).toHaveLength(4_096);
    expect((buildDiscordPayload(bare) as { embeds: { color: number }[] }).embeds[0]?.color).toBe(0xe02f2f);
  });
});

describe('cutting texts to a limit', () => {
  it('ends a cut text with … and never keeps half of a surrogate pair', () => {
    expect(cut('abcdef', 6)).toBe('abcdef');
    expect(cut('abcdefg', 6)).toBe('abcde…');
    // 'a', then 😀 as two code units: a cut after the first half drops the emoji whole.
    expect(cut('a😀bcd', 3)).toBe('a…');
    expect(cut('a😀bcd', 4)).toBe('a😀…');
  });
});

describe('telegram', () => {
  const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

  it('calls the bot’s sendMessage with HTML, every text escaped', async () => {
    const event = { ...EVENT, summary: 'price <0.80> & "falling"', rule: 'a<b>&c' };
    await notifier({ type: 'telegram', botToken: TOKEN, chatId: -1001234, apiUrl: capture.url('/tg/') }).send(event);
    const request = only();
    expect(request.path).toBe(`/tg/bot${TOKEN}/sendMessage`);
    expect(request.headers).toMatchObject(JSON_HEADERS);
    expect(request.body).toEqual({
      chat_id: '-1001234',
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      text: [
        '<b>a&lt;b&gt;&amp;c: pod.deployed</b>',
        'price &lt;0.80&gt; &amp; &quot;falling&quot;',
        '<b>Rule:</b> a&lt;b&gt;&amp;c',
        ...FACTS.slice(1).map(([label, value]) => `<b>${label}:</b> ${value}`),
        `<i>${FOOTER}</i>`,
      ].join('\n'),
    });
  });

  it('keeps the parsed message within 4,096 characters, never cutting an entity', () => {
    const event = { ...EVENT, summary: '&'.repeat(5_000) };
    const { text } = buildTelegramMessage(event, '1') as { text: string };
    const parsed = text.replace(/<[^>]+>/g, '').replace(/&(amp|lt|gt|quot);/g, '_');
    expect(parsed.length).toBeLessThanOrEqual(4_096);
    expect(parsed.length).toBeGreaterThan(4_000);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot);)/);
  });

  it('never lets the bot token out in an error, whether the receiver echoes it or the network fails', async () => {
    capture.respondWith(401);
    const tg = notifier({ type: 'telegram', botToken: TOKEN, chatId: '42', apiUrl: capture.url() });
    // The capture server answers "nope 401"; a real Bot API answer quoting the URL is cut too.
    await expect(tg.send(EVENT)).rejects.toMatchObject({ status: 401, permanent: true });
    const echo = await CaptureServer.start();
    const url = echo.url();
    await echo.close();
    const error = await notifier({ type: 'telegram', botToken: TOKEN, chatId: '42', apiUrl: url }).send(EVENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect((error as Error).message).not.toContain(TOKEN);
  });
});

describe('ntfy', () => {
  it('publishes JSON to the server root with the topic, title, priority and tags, and the Bearer token', async () => {
    await notifier({ type: 'ntfy', url: capture.url('/gpu-alerts'), token: 'tk_secrettoken123' }).send({ ...EVENT, type: 'api.down', rule: undefined, gpu: undefined, pod: undefined, summary: 'RunPod API down' });
    const request = only();
    expect(request.path).toBe('/');
    expect(request.headers).toMatchObject({ ...JSON_HEADERS, authorization: 'Bearer tk_secrettoken123' });
    expect(request.body).toEqual({
      topic: 'gpu-alerts',
      title: 'api.down',
      message: `RunPod API down\napi.down · critical · 2026-11-29T10:00:00.000Z · evt_0123456789abcdef`,
      priority: 5,
      tags: ['rotating_light', 'api.down'],
    });
  });

  it('sends no Authorization without a token; priority and tags follow the severity', async () => {
    await notifier({ type: 'ntfy', url: capture.url('/sub/path/alerts') }).send(EVENT);
    const request = only();
    expect(request.path).toBe('/sub/path/');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toMatchObject({ topic: 'alerts', title: 'a6000-trainer: pod.deployed', priority: 3, tags: ['information_source', 'pod.deployed'] });
    expect((request.body as { message: string }).message).toBe([EVENT.summary, ...FACTS.map(([l, v]) => `${l}: ${v}`), FOOTER].join('\n'));
  });
});

describe('teams', () => {
  it('POSTs a message with one Adaptive Card attachment', async () => {
    await notifier({ type: 'teams', url: capture.url('/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SIGNATURE_SECRET_VALUE') }).send({ ...EVENT, type: 'pod.deploy_failed' });
    const request = only();
    expect(request.path).toBe('/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SIGNATURE_SECRET_VALUE');
    expect(request.headers).toMatchObject(JSON_HEADERS);
    expect(request.body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: 'a6000-trainer: pod.deploy_failed', weight: 'Bolder', size: 'Medium', color: 'Warning', wrap: true },
              { type: 'TextBlock', text: EVENT.summary, wrap: true },
              { type: 'FactSet', facts: FACTS.map(([title, value]) => ({ title, value })) },
              { type: 'TextBlock', text: FOOTER.replace('pod.deployed · info', 'pod.deploy_failed · warning'), isSubtle: true, size: 'Small', wrap: true },
            ],
          },
        },
      ],
    });
  });

  it('cuts the workflow signature out of a receiver’s answer', async () => {
    const echo = await CaptureServer.start();
    await echo.close();
    const teams = notifier({ type: 'teams', url: `${echo.url('/invoke')}?sig=SIGNATURE_SECRET_VALUE` });
    const error = await teams.send(EVENT).catch((e: unknown) => e);
    expect((error as Error).message).not.toContain('SIGNATURE_SECRET_VALUE');
  });
});

describe('pagerduty', () => {
  const KEY = 'R0UTINGKEY0123456789abcdef012345';
  const pd = () => notifier({ type: 'pagerduty', routingKey: KEY, url: capture.url('/v2/enqueue'), source: 'gpu-box-1' });
  const down: WatcherEvent = { id: 'evt_down', type: 'api.down', time: '2026-11-29T10:01:00.000Z', dryRun: false, summary: 'RunPod API down: 3 polls in a row failed', details: { failures: 3, downSince: '2026-11-29T10:01:00.000Z' } };
  const up: WatcherEvent = { id: 'evt_up', type: 'api.up', time: '2026-11-29T10:09:00.000Z', dryRun: false, summary: 'RunPod API back after 8m', details: { failures: 7, downSince: '2026-11-29T10:01:00.000Z' } };

  it('triggers on api.down with our severity and the whole event, and resolves on api.up with the same dedup_key', async () => {
    await pd().send(down);
    await pd().send(up);
    expect(capture.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/v2/enqueue'],
      ['POST', '/v2/enqueue'],
    ]);
    expect(capture.requests[0]?.headers).toMatchObject(JSON_HEADERS);
    expect(JSON.parse(capture.requests[0]?.body ?? '')).toEqual({
      routing_key: KEY,
      event_action: 'trigger',
      dedup_key: 'gpu-watcher/api.down/2026-11-29T10:01:00.000Z',
      client: 'gpu-watcher',
      payload: {
        summary: 'RunPod API down: 3 polls in a row failed',
        source: 'gpu-box-1',
        severity: 'critical',
        timestamp: '2026-11-29T10:01:00.000Z',
        component: 'runpod',
        class: 'api.down',
        custom_details: down,
      },
    });
    expect(JSON.parse(capture.requests[1]?.body ?? '')).toEqual({ routing_key: KEY, event_action: 'resolve', dedup_key: 'gpu-watcher/api.down/2026-11-29T10:01:00.000Z' });
  });

  it('pairs an alert’s fired, reminder and resolved by the alert and when it fired; other events open their own', async () => {
    const alert = (type: WatcherEvent['type'], id: string): WatcherEvent => ({ id, type, time: EVENT.time, dryRun: false, summary: 'h100 back', alert: 'h100-back', gpu: EVENT.gpu, details: { firedAt: '2026-11-29T09:00:00.000Z' } });
    for (const event of [alert('alert.fired', 'e1'), alert('alert.reminder', 'e2'), alert('alert.resolved', 'e3'), EVENT]) await pd().send(event);
    const bodies = capture.requests.map((r) => JSON.parse(r.body) as { event_action: string; dedup_key: string; payload?: { severity: string; component: string } });
    expect(bodies.map((b) => [b.event_action, b.dedup_key])).toEqual([
      ['trigger', 'gpu-watcher/alert/h100-back/2026-11-29T09:00:00.000Z'],
      ['trigger', 'gpu-watcher/alert/h100-back/2026-11-29T09:00:00.000Z'],
      ['resolve', 'gpu-watcher/alert/h100-back/2026-11-29T09:00:00.000Z'],
      ['trigger', 'gpu-watcher/event/evt_0123456789abcdef'],
    ]);
    expect(bodies[0]?.payload).toMatchObject({ severity: 'warning', component: 'h100-back' });
    expect(bodies[3]?.payload).toMatchObject({ severity: 'info', component: 'a6000-trainer' });
  });

  it('a test event triggers and resolves its own incident', async () => {
    await pd().send({ id: 'evt_t', type: 'test', time: EVENT.time, dryRun: false, summary: 'test' });
    expect(capture.requests.map((r) => (JSON.parse(r.body) as { event_action: string; dedup_key: string }).event_action)).toEqual(['trigger', 'resolve']);
  });

  it('a 400 is refused for good, a 429 retried, and the routing key never shows in the error', async () => {
    capture.respondWith(400, 429);
    await expect(pd().send(down)).rejects.toMatchObject({ status: 400, permanent: true });
    await expect(pd().send(down)).rejects.toMatchObject({ status: 429, permanent: false });
  });
});

describe('a receiver that echoes the request back in its error', () => {
  // Plain values with no credential shape: only naming them as secrets can cut them out.
  const SECRET = 'plainS3cretValue';
  const SHORT = 'gpuTopic7q';
  let echo: ScriptedReceiver;
  beforeEach(async () => {
    echo = await ScriptedReceiver.start((request) => ({ status: 500, body: `bad gateway: ${request.path} ${request.headers.authorization ?? ''} ${request.body}` }));
  });
  afterEach(async () => {
    await echo.close();
  });

  it.each([
    ['telegram', () => ({ type: 'telegram', botToken: `42:${SECRET}`, chatId: '1', apiUrl: echo.url('/') }), SECRET],
    ['pagerduty', () => ({ type: 'pagerduty', routingKey: SECRET, url: echo.url('/v2/enqueue') }), SECRET],
    // A topic shorter than a token-looking path segment: only naming it as a secret cuts it.
    ['ntfy topic', () => ({ type: 'ntfy', url: echo.url(`/${SHORT}`) }), SHORT],
    ['ntfy token', () => ({ type: 'ntfy', url: echo.url('/alerts'), token: SECRET }), SECRET],
    ['discord', () => ({ type: 'discord', url: echo.url(`/api/webhooks/1234/${SECRET}`) }), SECRET],
    ['teams', () => ({ type: 'teams', url: echo.url(`/invoke?sig=${SECRET}`) }), SECRET],
  ])('%s: the secret is cut from the error', async (_name, raw, secret) => {
    const error = await notifier(raw()).send(EVENT).catch((e: unknown) => e);
    expect(JSON.stringify(echo.requests)).toContain(secret);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as Error).message).toMatch(/^HTTP 500: bad gateway: /);
    expect((error as Error).message).not.toContain(secret);
  });
});
