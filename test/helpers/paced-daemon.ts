import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { Pacer } from '../../src/loop/pacer.js';
import type { RecordedRequest, RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger, type Capture } from './capture.js';
import { TEST_KEY } from './market.js';
import type { VirtualClock } from './virtual-clock.js';

/** A whole daemon on a virtual clock against the simulator, its requests counted by the clock. */
export function pacedDaemon(sim: RunpodSimulator, yaml: string, clock: VirtualClock, random: () => number = () => 0.5): Daemon & { logs: Capture; config: Config } {
  const config = parseConfig(yaml, 'test.yaml', { RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl });
  const { logger, logs } = capturedLogger();
  const daemon = createDaemon({ config, dbPath: ':memory:', apiKey: TEST_KEY, dryRun: false, clock, logger, random, fetch: clock.fetch });
  return { ...daemon, logs, config };
}

/** The schedule's ticks on the virtual clock, as node-cron gives them in the daemon, until `signal` aborts. */
export async function baseTicks(clock: VirtualClock, pacer: Pacer, periodMs: number, signal: AbortSignal): Promise<void> {
  try {
    for (;;) {
      await clock.sleep(periodMs, signal);
      pacer.baseTick();
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

/** The snapshot requests (`gpuTypes`) the simulator received. */
export const snapshots = (sim: RunpodSimulator): RecordedRequest[] => sim.requestsFor('gpuTypes');

/** The gaps between consecutive requests, in ms of the simulator's clock. */
export function gaps(requests: readonly RecordedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.clockAt - (requests[i]?.clockAt ?? 0));
}

/** The most requests the simulator received in any 60 s (by its clock). */
export function busiestMinute(requests: readonly RecordedRequest[]): number {
  return Math.max(0, ...requests.map((r) => requests.filter((o) => o.clockAt >= r.clockAt && o.clockAt < r.clockAt + 60_000).length));
}
