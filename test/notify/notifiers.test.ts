import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifiers, NOTIFIERS } from '../../src/notify/registry.js';
import { buildSlackPayload } from '../../src/notify/notifiers/slack.js';
import { buildWebhookRequest, signBody } from '../../src/notify/notifiers/webhook.js';
import { DeliveryError } from '../../src/notify/notifier.js';
import { newEvent } from '../../src/events/event.js';
import { VERSION } from '../../src/lib/version.js';
import { CaptureServer } from '../helpers/capture-server.js';
import { DEPLOYED_EVENT } from '../helpers/sample-event.js';

const EVENT = DEPLOYED_EVENT;

let capture: CaptureServer;
beforeEach(async () => {
  capture = await CaptureServer.start();
});
afterEach(async () => {
  await capture.close();
});

const deps = { fetch: globalThis.fetch, timeoutMs: 2_000 };

describe('webhook', () => {
  it('POSTs the event as the contract says, with its headers, signed with the secret', async () => {
    const notifiers = createNotifiers({ audit: { type: 'webhook', url: capture.url(), secret: 'whsec_TOPSECRET', headers: { 'X-Team': 'ml' } } }, deps);
    expect(await notifiers.get('audit')?.send(EVENT)).toEqual({ status: 200 });
    const [request] = capture.requests;
    expect(request?.method).toBe('POST');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      id: 'evt_0123456789abcdef',
      type: 'pod.deployed',
      time: '2026-11-29T10:00:00.000Z',
      dryRun: false,
      summary: 'a6000-trainer deployed NVIDIA RTX A6000 x1 on-demand at $0.79/GPU/hr (pod abc123)',
      rule: 'a6000-trainer',
      gpu: { id: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE', stockStatus: 'High', uninterruptablePrice: 0.79, minimumBidPrice: 0.41 },
      pod: { id: 'abc123', name: 'a6000-trainer', kind: 'on-demand', costPerHr: 0.79 },
    });
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-gpuwatcher-event': 'pod.deployed',
      'x-gpuwatcher-delivery': 'evt_0123456789abcdef',
      'x-team': 'ml',
      'user-agent': `gpu-watcher/${VERSION}`,
    });
    const expected = `sha256=${createHmac('sha256', 'whsec_TOPSECRET').update(request?.body ?? '').digest('hex')}`;
    expect(request?.headers['x-gpuwatcher-signature']).toBe(expected);
    expect(JSON.stringify(request)).not.toContain('whsec_TOPSECRET');
  });

  it('sends no signature without a secret', () => {
    const { headers } = buildWebhookRequest(EVENT, { type: 'webhook', url: 'http://x', secret: '', headers: {} });
    expect(headers['X-GpuWatcher-Signature']).toBeUndefined();
    expect(signBody('{}', 'k')).toBe(`sha256=${createHmac('sha256', 'k').update('{}').digest('hex')}`);
  });

  it.each([
    [404, true],
    [400, true],
    [410, true],
    [408, false],
    [429, false],
    [500, false],
    [503, false],
  ])('HTTP %i fails the delivery (permanent: %s) with the status and the start of the answer', async (status, permanent) => {
    capture.respondWith(status);
    const notifier = createNotifiers({ audit: { type: 'webhook', url: capture.url(), secret: '', headers: {} } }, deps).get('audit');
    const error = await notifier?.send(EVENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ status, permanent, message: `HTTP ${status}: nope ${status}` });
  });

  it('a receiver that does not answer in time fails, to be retried', async () => {
    capture.delayMs = 500;
    const notifier = createNotifiers({ audit: { type: 'webhook', url: capture.url(), secret: '', headers: {} } }, { ...deps, timeoutMs: 100 }).get('audit');
    await expect(notifier?.send(EVENT)).rejects.toMatchObject({ permanent: false, message: 'no answer within 100 ms' });
  });

  it('a receiver that cannot be reached fails with the network error as its cause, to be retried', async () => {
    const url = capture.url();
    await capture.close();
    const notifier = createNotifiers({ audit: { type: 'webhook', url, secret: '', headers: {} } }, deps).get('audit');
    const error = await notifier?.send(EVENT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ permanent: false, status: undefined, message: 'network error (ECONNREFUSED)' });
    expect((error as DeliveryError).cause).toBeInstanceOf(TypeError);
  });
});

describe('slack', () => {
  it('sends { text, blocks } with the same facts, the summary first', async () => {
    const notifiers = createNotifiers({ ops: { type: 'slack', url: capture.url('/services/T0/B0/X') } }, deps);
    await notifiers.get('ops')?.send(EVENT);
    const body = JSON.parse(capture.requests[0]?.body ?? '');
    expect(body).toEqual(buildSlackPayload(EVENT));
    expect(body.text).toBe(':rocket: a6000-trainer deployed NVIDIA RTX A6000 x1 on-demand at $0.79/GPU/hr (pod abc123)');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'a6000-trainer' } });
    expect(body.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: body.text } });
    expect(body.blocks[2].fields.map((f: { text: string }) => f.text)).toEqual([
      '*Rule*\na6000-trainer',
      '*GPU*\nNVIDIA RTX A6000 x1 SECURE',
      '*Stock*\nHigh',
      '*On-demand*\n$0.79/GPU/hr',
      '*Min bid*\n$0.41/GPU/hr',
      '*Pod*\nabc123 (on-demand, $0.79/hr)',
    ]);
    expect(body.blocks[3].elements[0].text).toBe('pod.deployed · 2026-11-29T10:00:00.000Z · evt_0123456789abcdef');
  });

  it('marks a dry run, and keeps a bare event to its summary', () => {
    const bare = newEvent({ type: 'api.down', summary: 'RunPod API down', dryRun: true }, Date.UTC(2026, 10, 29));
    const payload = buildSlackPayload(bare);
    expect(payload.text).toBe(':red_circle: RunPod API down (dry run)');
    expect(payload.blocks).toHaveLength(2);
  });
});

describe('the notifier registry', () => {
  it('has exactly one entry per notifier file in src/notify/notifiers', () => {
    const files = readdirSync('src/notify/notifiers')
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(Object.keys(NOTIFIERS).sort()).toEqual(files);
  });
});
