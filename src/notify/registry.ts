import { z } from 'zod';
import { createSlackNotifier, slackConfigSchema } from './notifiers/slack.js';
import type { Notifier, NotifierDeps } from './notifier.js';
import { createWebhookNotifier, webhookConfigSchema } from './notifiers/webhook.js';

/**
 * Every notifier type: its config schema and its constructor. Adding one means one file, one line
 * here and its tests; a test checks that this registry and the files in this folder agree.
 */
export const NOTIFIERS = {
  slack: { schema: slackConfigSchema, create: createSlackNotifier },
  webhook: { schema: webhookConfigSchema, create: createWebhookNotifier },
} as const;

/** Notifier config, chosen by `type` from the registry. */
export const notifierSchema = z.discriminatedUnion('type', [NOTIFIERS.slack.schema, NOTIFIERS.webhook.schema], {
  error: `must be one of ${Object.keys(NOTIFIERS).join(', ')}`,
});

export type NotifierConfig = z.output<typeof notifierSchema>;

/** Builds the configured notifiers, by name. */
export function createNotifiers(configs: Readonly<Record<string, NotifierConfig>>, deps: NotifierDeps): Map<string, Notifier> {
  const built = new Map<string, Notifier>();
  for (const [name, config] of Object.entries(configs)) {
    // The schema matched `config` to its type's entry, so that entry's constructor takes it.
    const create = NOTIFIERS[config.type].create as (name: string, config: NotifierConfig, deps: NotifierDeps) => Notifier;
    built.set(name, create(name, config, deps));
  }
  return built;
}
