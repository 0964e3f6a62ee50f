import type { TelegramConfig } from '../../config/notifiers.js';
import type { WatcherEvent } from '../../events/event.js';
import { cut, escapeHtml, eventFacts, eventFooter, eventTitle, headline } from '../facts.js';
import { jsonNotifier } from '../post-json.js';
import type { Notifier, NotifierDeps } from '../notifier.js';

/**
 * The most characters a message may have once Telegram has parsed its HTML (entities count as
 * one): a longer one is refused with 400 "message is too long".
 * @see https://core.telegram.org/bots/api#sendmessage
 */
const TELEGRAM_TEXT_MAX = 4_096;

/**
 * `sendMessage`'s body for an event, in HTML parse mode: a bold title, the summary, the facts and
 * the event's line. Every text is cut before it is escaped (`&`, `<`, `>`), so the cut never
 * splits an entity and the parsed message fits; the summary gets what the rest leaves.
 */
export function buildTelegramMessage(event: WatcherEvent, chatId: string): unknown {
  const title = cut(eventTitle(event), 256);
  const facts = eventFacts(event).map((fact) => ({ label: fact.label, value: cut(fact.value, 256) }));
  const footer = eventFooter(event);
  const rest = [title, footer, ...facts.map((f) => `${f.label}: ${f.value}`)];
  // Each line but the summary, plus the line breaks between all of them.
  const used = rest.reduce((sum, line) => sum + line.length + 1, 0);
  const summary = cut(headline(event), TELEGRAM_TEXT_MAX - used);
  const lines = [
    `<b>${escapeHtml(title)}</b>`,
    escapeHtml(summary),
    ...facts.map((f) => `<b>${escapeHtml(f.label)}:</b> ${escapeHtml(f.value)}`),
    `<i>${escapeHtml(footer)}</i>`,
  ];
  return { chat_id: chatId, text: lines.join('\n'), parse_mode: 'HTML', link_preview_options: { is_disabled: true } };
}

/**
 * A Telegram notifier. The bot token sits in the URL's path (`/bot<token>/sendMessage`), so it is
 * cut, as written and URL-encoded, from every answer and network error before anyone sees them.
 */
export function createTelegramNotifier(name: string, config: TelegramConfig, deps: NotifierDeps): Notifier {
  const url = `${config.apiUrl.replace(/\/+$/, '')}/bot${config.botToken}/sendMessage`;
  const secrets = [config.botToken];
  return jsonNotifier({ name, type: 'telegram', url, secrets, build: (event) => buildTelegramMessage(event, config.chatId) }, deps);
}
