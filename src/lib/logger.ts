import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

/** The levels LOG_LEVEL may name, quietest last. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log lines are written: `json`, one object a line for machines, or `pretty`, one readable line an event. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Whether `value` is a level pino knows (LOG_LEVEL is checked before any command runs). */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * Log paths that may hold a secret: the API key, webhook secrets, HTTP tokens, auth headers and pod
 * env. Secrets should never reach a log call at all; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.Authorization',
  '*.headers.Authorization',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'env',
  '*.env',
  '*.pod.env',
  'variables.input.env',
];

/**
 * Builds the process logger on stderr by default (stdout stays clean for `--json` output): JSON
 * lines, or with `format: 'pretty'` one readable line an event (pino-pretty; coloured with `colour`).
 * Redaction happens before either format.
 */
export function createLogger(level = 'info', destination?: DestinationStream, options: { format?: LogFormat; colour?: boolean } = {}): Logger {
  const target = destination ?? pino.destination(2);
  return pino({ level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, options.format === 'pretty' ? prettyStream(target, options.colour ?? false) : target);
}

/**
 * pino-pretty's formatter over `target`, synchronous: its stream form formats on a later tick, so a
 * line logged just before the process exits (a fatal error) would be lost.
 */
function prettyStream(target: DestinationStream, colour: boolean): DestinationStream {
  const pretty = prettyFactory({
    colorize: colour,
    translateTime: 'SYS:HH:MM:ss.l',
    // The fields follow the message as `key=value` on the same line, rather than as a JSON object.
    hideObject: true,
    messageFormat: (log, messageKey, _level, { colors }) => {
      const fields = Object.entries(log)
        .filter(([key]) => !NOT_FIELDS.has(key) && key !== messageKey)
        .map(([key, value]) => `${key}=${fieldText(value)}`);
      const message = typeof log[messageKey] === 'string' ? log[messageKey] : '';
      return fields.length > 0 ? `${message} ${colors.gray(fields.join(' '))}` : message;
    },
  });
  return { write: (line: string) => void target.write(pretty(line)) };
}

/** What pino puts in every line that is not one of the event's fields. */
const NOT_FIELDS = new Set(['level', 'time', 'pid', 'hostname']);

/** A field's value on a pretty line: an error by its message, a string quoted only when it has spaces, anything else compact. */
function fieldText(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === 'object' && value !== null && 'message' in value && typeof value.message === 'string') return JSON.stringify(value.message);
  return JSON.stringify(value) ?? String(value);
}
