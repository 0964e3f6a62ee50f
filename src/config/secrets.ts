import type { Config } from './schema.js';

/**
 * The values the daemon holds in trust and must never echo: the API key, every pod env value and
 * every notifier's secret and header values. Text from outside is cleaned of them before it is
 * logged, stored or sent on, whoever it came from.
 */
export function configSecrets(config: Config, apiKey: string | undefined): string[] {
  const secrets = apiKey ? [apiKey] : [];
  for (const rule of config.rules) secrets.push(...Object.values(rule.pod.env ?? {}));
  for (const notifier of Object.values(config.notifiers)) {
    if (notifier.type === 'webhook') secrets.push(notifier.secret, ...Object.values(notifier.headers));
  }
  return secrets.filter((secret) => secret.length > 0);
}
