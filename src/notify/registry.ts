import type { NotifierConfig } from '../config/notifiers.js';
import type { Notifier, NotifierDeps } from './notifier.js';
import { createDiscordNotifier } from './notifiers/discord.js';
import { createEmailNotifier } from './notifiers/email.js';
import { createNtfyNotifier } from './notifiers/ntfy.js';
import { createPagerdutyNotifier } from './notifiers/pagerduty.js';
import { createSlackNotifier } from './notifiers/slack.js';
import { createTeamsNotifier } from './notifiers/teams.js';
import { createTelegramNotifier } from './notifiers/telegram.js';
import { createWebhookNotifier } from './notifiers/webhook.js';

/** A notifier type's constructor, taking that type's config. */
type Create<T extends NotifierConfig['type']> = (name: string, config: Extract<NotifierConfig, { type: T }>, deps: NotifierDeps) => Notifier;

/**
 * Every notifier type's constructor, one per file in notifiers/. Adding a type means its config
 * schema in config/notifiers.ts, its file there, one line here and its tests: the compiler checks
 * that every configured type has its constructor, and a test that this registry and the files agree.
 */
export const NOTIFIERS: { [T in NotifierConfig['type']]: Create<T> } = {
  slack: createSlackNotifier,
  webhook: createWebhookNotifier,
  discord: createDiscordNotifier,
  telegram: createTelegramNotifier,
  ntfy: createNtfyNotifier,
  email: createEmailNotifier,
  pagerduty: createPagerdutyNotifier,
  teams: createTeamsNotifier,
};

/** Builds the configured notifiers, by name. */
export function createNotifiers(configs: Readonly<Record<string, NotifierConfig>>, deps: NotifierDeps): Map<string, Notifier> {
  const built = new Map<string, Notifier>();
  for (const [name, config] of Object.entries(configs)) {
    // The schema matched `config` to its type's entry, so that entry's constructor takes it.
    const create = NOTIFIERS[config.type] as (name: string, config: NotifierConfig, deps: NotifierDeps) => Notifier;
    built.set(name, create(name, config, deps));
  }
  return built;
}
