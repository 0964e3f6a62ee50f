import type { CliIo } from '../../src/commands/io.js';
import { createLogger, type Logger } from '../../src/lib/logger.js';

/** A write target that keeps what was written. */
export class Capture {
  private chunks: string[] = [];

  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }

  text(): string {
    return this.chunks.join('');
  }
}

/** A debug-level logger writing into a Capture, to check what would reach the log. */
export function capturedLogger(): { logger: Logger; logs: Capture } {
  const logs = new Capture();
  return { logger: createLogger('debug', logs), logs };
}

/** A CLI io with captured output; `stop()` plays the part of SIGTERM. */
export function testIo(env: NodeJS.ProcessEnv = {}): CliIo & { out: Capture; err: Capture; stop: () => void } {
  const out = new Capture();
  const err = new Capture();
  let stop = (): void => undefined;
  const shutdown = new Promise<void>((resolve) => {
    stop = resolve;
  });
  return { stdout: out, stderr: err, out, err, env, waitForShutdown: () => shutdown, stop: () => stop() };
}
