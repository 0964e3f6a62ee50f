import { z } from 'zod';

// The notifiers' config, one schema per type; `type` picks which. What each type sends is in
// notify/notifiers/, one file per type, whose registry must build every type listed here.

const receiverUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

// RFC 9110 field names are tokens; a CR or LF in a value would end the header (and fetch refuses it).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'is not a valid HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)');
const headerValue = z.string().refine((v) => !/[\r\n\0]/.test(v), 'must not contain a line break (CR or LF) or NUL');

/** `type: slack`: a Slack incoming webhook. */
const slackConfigSchema = z.strictObject({
  type: z.literal('slack'),
  url: receiverUrl,
});

/** `type: webhook`: a JSON POST, signed with HMAC-SHA256 when `secret` is set. */
const webhookConfigSchema = z.strictObject({
  type: z.literal('webhook'),
  url: receiverUrl,
  secret: z.string().default(''),
  headers: z.record(headerName, headerValue).default({}),
});

const SCHEMAS = [slackConfigSchema, webhookConfigSchema] as const;

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
