import type { NotifierConfig } from './notifiers.js';
import type { Config } from './schema.js';

/** A notifier's credentials: what in its config must never reach a log, the database or another receiver. */
function notifierSecrets(notifier: NotifierConfig): string[] {
  switch (notifier.type) {
    case 'webhook':
      return [notifier.secret, ...Object.values(notifier.headers)];
    case 'telegram':
      return [notifier.botToken];
    case 'ntfy':
      return [notifier.token];
    case 'email':
      return [notifier.password];
    case 'pagerduty':
      return [notifier.routingKey];
    case 'slack':
    case 'discord':
    case 'teams':
      // Their credential is the URL itself, cut from their own answers by the notifier.
      return [];
  }
}

/**
 * The values the daemon holds in trust and must never echo: the API key, every pod env value and
 * every notifier's credentials. Text from outside is cleaned of them before it is logged, stored
 * or sent on, whoever it came from.
 */
export function configSecrets(config: Config, apiKey: string | undefined): string[] {
  const secrets = apiKey ? [apiKey] : [];
  for (const rule of config.rules) secrets.push(...Object.values(rule.pod.env ?? {}));
  for (const notifier of Object.values(config.notifiers)) secrets.push(...notifierSecrets(notifier));
  return secrets.filter((secret) => secret.length > 0);
}
