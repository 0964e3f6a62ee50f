import cron from 'node-cron';
import type { Logger } from '../lib/logger.js';

/** A running schedule. */
export interface Schedule {
  stop(): Promise<void>;
}

/**
 * Calls `onTick` on each tick of a node-cron expression (seconds field allowed). The tick only
 * starts work: overlap, errors and shutdown are the watcher's, so this stays a thin seam that could
 * be swapped for another scheduler in one file.
 */
export function scheduleTicks(expression: string, onTick: () => void, logger: Logger): Schedule {
  const log = logger.child({ component: 'scheduler' });
  const task = cron.createTask(expression, () => onTick(), {
    // node-cron logs to the console by default; its warnings (missed ticks) go to pino instead.
    logger: {
      info: (message) => log.debug(message),
      warn: (message) => log.warn(message),
      error: (message) => log.error({ err: message }, 'scheduler error'),
      debug: (message) => log.debug({ detail: String(message) }, 'scheduler'),
    },
  });
  void task.start();
  return {
    stop: async () => {
      await task.stop();
      await task.destroy();
    },
  };
}
