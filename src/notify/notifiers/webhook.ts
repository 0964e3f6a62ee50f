import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { WatcherEvent } from '../../events/event.js';
import { postJson, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

// RFC 9110 field names are tokens; a CR or LF in a value would end the header (and fetch refuses it).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not a valid HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)');
const headerValue = z.string().refine((v) => !/[\r\n\0]/.test(v), 'must not contain a line break (CR or LF) or NUL');

/** `type: webhook`: a JSON POST, signed with HMAC-SHA256 when `secret` is set. */
export const webhookConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  secret: z.string().default(''),
  headers: z.record(headerName, headerValue).default({}),
});

export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as sent in X-GpuWatcher-Signature. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The exact request a webhook receiver gets: the event as JSON, and the headers. */
export function buildWebhookRequest(event: WatcherEvent, config: WebhookConfig): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    ...config.headers,
    'X-GpuWatcher-Event': event.type,
    'X-GpuWatcher-Delivery': event.id,
  };
  if (config.secret) headers['X-GpuWatcher-Signature'] = signBody(body, config.secret);
  return { body, headers };
}

/** A webhook notifier. */
export function createWebhookNotifier(name: string, config: WebhookConfig, deps: NotifierDeps): Notifier {
  // The configured header values are secret as a rule (they carry tokens); so is the secret.
  const secrets = [config.secret, ...Object.values(config.headers), ...urlSecrets(config.url, { wholePath: false })];
  return {
    name,
    type: 'webhook',
    send: (event, signal) => {
      const { body, headers } = buildWebhookRequest(event, config);
      const signature = headers['X-GpuWatcher-Signature'];
      return postJson({ url: config.url, body, headers, secrets: signature ? [...secrets, signature] : secrets }, deps, signal);
    },
  };
}
