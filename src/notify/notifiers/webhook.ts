import { createHmac } from 'node:crypto';
import type { WebhookConfig } from '../../config/notifiers.js';
import type { WatcherEvent } from '../../events/event.js';
import { postJson, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

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
    protocol: 'HTTP',
    send: (event, signal) => {
      const { body, headers } = buildWebhookRequest(event, config);
      const signature = headers['X-GpuWatcher-Signature'];
      return postJson({ url: config.url, body, headers, secrets: signature ? [...secrets, signature] : secrets }, deps, signal);
    },
  };
}
