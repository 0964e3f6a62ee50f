import type { LogFormat, LogLevel } from '../lib/logger.js';

/** Where a command reads and writes, so the whole CLI runs in-process under test. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  /** `isTTY`: a terminal, where logs are pretty and coloured by default. */
  stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM in the real CLI). */
  waitForShutdown(): Promise<void>;
  /** Calls `listener` each time the process is asked to reload its config (SIGHUP in the real CLI). */
  onReload?(listener: () => void): void;
  /** How this command logs, settled from LOG_LEVEL, LOG_FORMAT and `--log-format` before it runs. */
  log?: LogChoice;
}

/** The log level and format a command's logger uses. */
export interface LogChoice {
  level: LogLevel | undefined;
  format: LogFormat;
}
