import { z } from 'zod';
import { SEVERITIES } from '../events/event.js';
import { globMatchesSomeType } from './routing.js';

// The notifiers' config, one schema per type; `type` picks which. What each type sends is in
// notify/notifiers/, one file per type, whose registry must build every type listed here.

const receiverUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

// RFC 9110 field names are tokens; a CR or LF in a value would end the header (and fetch refuses it).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not a valid HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)');
const headerValue = z.string().refine((v) => !/[\r\n\0]/.test(v), 'must not contain a line break (CR or LF) or NUL');
const secret = (what: string) => z.string().min(1, `must not be empty (${what})`);

/** A glob over event types (`pod.*`, `api.down`, `*`); one that matches no type is refused. */
const eventGlob = z
  .string()
  .regex(/^[a-z0-9_.*]+$/, 'is not an event type glob (lower-case letters, digits, "_", "." and "*", e.g. pod.* or api.down)')
  .refine(globMatchesSomeType, { error: (issue) => `"${String(issue.input)}" matches no event type (the types are listed in docs/events.md)` });

/** Every notifier's routing: which event types it takes, and the least severity. Absent: all of them. */
const routing = {
  events: z.array(eventGlob).min(1, 'must name at least one event type glob (leave it out for all events)').optional(),
  minSeverity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
};

/** `type: slack`: a Slack incoming webhook. */
const slackConfigSchema = z.strictObject({
  type: z.literal('slack'),
  url: receiverUrl,
  ...routing,
});

/** `type: webhook`: a JSON POST, signed with HMAC-SHA256 when `secret` is set. */
const webhookConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: receiverUrl,
  secret: z.string().default(''),
  headers: z.record(headerName, headerValue).default({}),
  ...routing,
});

/** `type: discord`: a Discord channel webhook, one embed per event. */
const discordConfigSchema = z.strictObject({
  type: z.literal('discord'),
  url: receiverUrl,
  ...routing,
});

/** `type: telegram`: a bot's `sendMessage` to one chat, in HTML parse mode. */
const telegramConfigSchema = z.strictObject({
  type: z.literal('telegram'),
  botToken: secret('the bot token from @BotFather'),
  chatId: z.union([z.string().min(1), z.number().int()]).transform(String),
  apiUrl: receiverUrl.default('https://api.telegram.org'),
  ...routing,
});

/** `type: ntfy`: a message published to an ntfy topic, named by its URL (JSON publish); a Bearer token when set. */
const ntfyConfigSchema = z.strictObject({
  type: z.literal('ntfy'),
  url: receiverUrl.refine((url) => /\/[-_A-Za-z0-9]{1,64}$/.test(new URL(url).pathname), 'must be the topic URL, e.g. https://ntfy.sh/my-gpu-alerts (a topic is 1 to 64 letters, digits, "-" or "_")'),
  token: z.string().default(''),
  ...routing,
});

/** `type: email`: a mail over SMTP (nodemailer), plain text and HTML. */
const emailConfigSchema = z
  .strictObject({
    type: z.literal('email'),
    host: z.string().min(1, 'must name the SMTP server'),
    port: z.number().int().min(1).max(65_535).optional(),
    secure: z.boolean().default(false),
    requireTls: z.boolean().default(true),
    ca: z.string().optional(),
    user: z.string().default(''),
    password: z.string().default(''),
    from: z.email({ error: 'must be an e-mail address' }),
    to: z.array(z.email({ error: 'must be an e-mail address' })).min(1, 'must name at least one recipient'),
    ...routing,
  })
  .refine((c) => (c.user === '') === (c.password === ''), { error: 'user and password go together: set both or neither', path: ['password'] });

/** `type: pagerduty`: PagerDuty Events API v2, trigger and resolve with a stable dedup_key. */
const pagerdutyConfigSchema = z.strictObject({
  type: z.literal('pagerduty'),
  routingKey: secret('the integration key of an Events API v2 integration'),
  url: receiverUrl.default('https://events.pagerduty.com/v2/enqueue'),
  source: z.string().min(1).default('gpu-watcher'),
  ...routing,
});

/** `type: teams`: a Microsoft Teams workflow webhook ("Post to a channel when a webhook request is received"), an Adaptive Card. */
const teamsConfigSchema = z.strictObject({
  type: z.literal('teams'),
  url: receiverUrl,
  ...routing,
});

const SCHEMAS = [
  slackConfigSchema,
  webhookConfigSchema,
  discordConfigSchema,
  telegramConfigSchema,
  ntfyConfigSchema,
  emailConfigSchema,
  pagerdutyConfigSchema,
  teamsConfigSchema,
] as const;

/** Notifier config, chosen by `type`. */
export const notifierSchema = z.discriminatedUnion('type', SCHEMAS, {
  error: `must be one of ${SCHEMAS.map((schema) => schema.shape.type.value).join(', ')}`,
});

/** One configured notifier, defaults applied. */
export type NotifierConfig = z.output<typeof notifierSchema>;
/** A `type: slack` notifier's config. */
export type SlackConfig = z.output<typeof slackConfigSchema>;
/** A `type: webhook` notifier's config. */
export type WebhookConfig = z.output<typeof webhookConfigSchema>;
/** A `type: discord` notifier's config. */
export type DiscordConfig = z.output<typeof discordConfigSchema>;
/** A `type: telegram` notifier's config. */
export type TelegramConfig = z.output<typeof telegramConfigSchema>;
/** A `type: ntfy` notifier's config. */
export type NtfyConfig = z.output<typeof ntfyConfigSchema>;
/** A `type: email` notifier's config. */
export type EmailConfig = z.output<typeof emailConfigSchema>;
/** A `type: pagerduty` notifier's config. */
export type PagerdutyConfig = z.output<typeof pagerdutyConfigSchema>;
/** A `type: teams` notifier's config. */
export type TeamsConfig = z.output<typeof teamsConfigSchema>;
