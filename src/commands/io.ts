/** Where a command reads and writes, so the whole CLI runs in-process under test. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM in the real CLI). */
  waitForShutdown(): Promise<void>;
  /** Calls `listener` each time the process is asked to reload its config (SIGHUP in the real CLI). */
  onReload?(listener: () => void): void;
}
