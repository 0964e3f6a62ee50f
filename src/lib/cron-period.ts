import cron from 'node-cron';

/** The time between two ticks of a node-cron expression (the gap after the next tick): the schedule's period. */
export function schedulePeriodMs(expression: string): number {
  const task = cron.createTask(expression, () => undefined);
  const [first, second] = task.getNextRuns(2);
  void task.destroy();
  return first && second ? second.getTime() - first.getTime() : 30_000;
}
