import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { RunpodGraphqlClient } from '../api/graphql-client.js';
import { keyId } from '../api/types.js';
import { loadConfig } from '../config/load.js';
import { describeConfig } from '../config/describe.js';
import { watchedKeys } from '../config/watched-keys.js';
import { parseDuration } from '../lib/duration.js';
import { formatPrice, formatTable } from '../lib/table.js';
import { RunpodSimulator } from '../sim/server.js';
import { loadScenario } from '../sim/scenario.js';
import { commandLogger, positiveInt, UsageError } from './context.js';
import { formatCatalog } from './gpus.js';
import type { CliIo } from './io.js';

// src/commands and dist/commands are both two levels below the package root.
const fromRoot = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The built-in lively market the demo and a bare `sim` serve. */
export const DEMO_SCENARIO_PATH = fromRoot('scenarios/demo.yaml');
/** The demo's config: rules and alerts over the demo market. */
export const DEMO_CONFIG_PATH = fromRoot('config/demo.yaml');

/** `demo`: the built-in simulator, the demo config checked, and the market as the watcher sees it. */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run against the built-in RunPod simulator: no key, no network')
    .option('--step-every <duration>', 'how often the simulated market moves', '5s')
    .option('--steps <n>', 'stop after this many market steps (default: run until Ctrl-C)')
    .action(async (opts: { stepEvery: string; steps?: string }) => {
      const stepMs = parseDuration(opts.stepEvery);
      if (stepMs === undefined) throw new UsageError(`--step-every must be a duration like 5s, got "${opts.stepEvery}"`);
      const maxSteps = opts.steps === undefined ? Infinity : positiveInt(opts.steps, '--steps');

      // The demo key exists only between this process and its own simulator.
      const apiKey = `demo_${randomBytes(12).toString('hex')}`;
      const sim = await RunpodSimulator.start({ ...(await loadScenario(DEMO_SCENARIO_PATH)), apiKey });
      const env = { ...io.env, RUNPOD_API_URL: sim.url, RUNPOD_API_KEY: apiKey };
      const config = await loadConfig(DEMO_CONFIG_PATH, env, { required: true });
      const client = new RunpodGraphqlClient({ url: sim.url, apiKey, timeoutMs: config.poll.timeout, logger: commandLogger(io) });
      const out = (text: string): void => void io.stdout.write(text);

      out(`RunPod simulator at ${sim.url}: a scripted market, no key and no network needed\n\n`);
      out(`== gpu-watcher check -c config/demo.yaml\n`);
      for (const line of describeConfig(config, true)) out(`${line}\n`);
      out(`\n== gpu-watcher gpus\n${formatCatalog(await client.catalog({ gpuCount: 1, cloud: 'ALL' }))}\n`);

      const keys = watchedKeys(config).map((w) => w.key);
      const shutdown = io.waitForShutdown().then(() => true);
      for (let step = 1; step <= maxSteps; step++) {
        const stop = await Promise.race([shutdown, new Promise<false>((resolve) => setTimeout(resolve, stepMs, false))]);
        if (stop) break;
        const note = sim.advance();
        const snapshot = await client.snapshot(keys).catch((error: unknown) => error as Error);
        out(`== market step ${step}${note ? `: ${note}` : ''}\n`);
        if (snapshot instanceof Error) {
          out(`snapshot failed: ${snapshot.message}\n\n`);
          continue;
        }
        const rows = snapshot.offers.map((o) => [keyId(o.key), o.stock, formatPrice(o.onDemandPrice), formatPrice(o.minBidPrice)]);
        out(`${formatTable(['WATCHED KEY', 'STOCK', 'ON-DEMAND', 'MIN BID'], rows)}\n`);
      }
      await sim.close();
    });
}
