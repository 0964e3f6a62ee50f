import type { DiscordConfig } from '../../config/notifiers.js';
import type { Severity, WatcherEvent } from '../../events/event.js';
import { cut, eventFacts, eventFooter, eventTitle, headline, severityOf } from '../facts.js';
import { jsonNotifier, urlSecrets } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

/**
 * Discord's embed limits, in characters: above any of them Discord answers 400 and the message is
 * lost, so every text is cut to fit, the description last, to what the total leaves it.
 * @see https://discord.com/developers/docs/resources/message#embed-object-embed-limits
 */
const DISCORD_LIMITS = { title: 256, description: 4_096, fieldName: 256, fieldValue: 1_024, footer: 2_048, total: 6_000 } as const;

/** The embed's side bar: blue news, amber warnings, red for action now. */
const COLOR: Record<Severity, number> = { info: 0x3498db, warning: 0xf1a20f, critical: 0xe02f2f };

/**
 * Discord's execute-webhook body for an event: one embed (title, summary, facts, severity colour,
 * time) within Discord's limits. `allowed_mentions` is empty, so a name or a RunPod message that
 * happens to say `@everyone` pings nobody.
 */
export function buildDiscordPayload(event: WatcherEvent): unknown {
  const title = cut(eventTitle(event), DISCORD_LIMITS.title);
  const footer = cut(eventFooter(event), DISCORD_LIMITS.footer);
  const fields = eventFacts(event).map((fact) => ({
    name: cut(fact.label, DISCORD_LIMITS.fieldName),
    value: cut(fact.value, DISCORD_LIMITS.fieldValue),
    inline: true,
  }));
  const used = title.length + footer.length + fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0);
  const description = cut(headline(event), Math.min(DISCORD_LIMITS.description, DISCORD_LIMITS.total - used));
  return {
    allowed_mentions: { parse: [] },
    embeds: [{ title, description, color: COLOR[severityOf(event)], fields, footer: { text: footer }, timestamp: event.time }],
  };
}

/** A Discord notifier: the webhook URL's id and token segments are its secret. */
export function createDiscordNotifier(name: string, config: DiscordConfig, deps: NotifierDeps): Notifier {
  const secrets = urlSecrets(config.url, { wholePath: false });
  return jsonNotifier({ name, type: 'discord', url: config.url, secrets, build: buildDiscordPayload }, deps);
}
