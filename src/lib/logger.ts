import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

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

/** Builds the process logger: JSON lines on stderr (stdout stays clean for `--json` output). */
export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    { level, base: undefined, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination(2),
  );
}
