import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { describeConfig } from '../config/describe.js';
import { systemClock } from '../lib/clock.js';
import { parseDuration } from '../lib/duration.js';
import { RunpodSimulator } from '../sim/server.js';
import { loadScenario } from '../sim/scenario.js';
import { startCountingReceiver } from '../sim/receiver.js';
import { describeState } from '../loop/poll-log.js';
import type { CycleResult } from '../loop/watcher.js';
import { createDaemon } from '../daemon/daemon.js';
import { loadDashboardAssets } from '../http/assets.js';
import { createHandler, startHttpServer } from '../http/server.js';
import { commandLogger, positiveInt, UsageError } from './context.js';
import { formatCatalog } from './gpus.js';
import type { CliIo } from './io.js';

// src/commands and dist/commands are both two levels below the package root.
const SOURCE_NAMES = { graphql: 'GraphQL', rest: 'REST v2' } as const;

const fromRoot = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The demo's lively, scripted market (a bare `sim` serves a steady one). */
export const DEMO_SCENARIO_PATH = fromRoot('scenarios/demo.yaml');
/** The demo's config: rules and alerts over the demo market. */
const DEMO_CONFIG_PATH = fromRoot('config/demo.yaml');

function narrate(result: CycleResult | undefined): string {
  if (!result) return '  poll skipped\n';
  if (result.outcome === 'failed') return `  poll failed (${result.errorKind}) after ${result.durationMs} ms: the gap is recorded\n`;
  const head = `  poll ${result.outcome} in ${result.durationMs} ms: ${result.offers} keys, ${result.changes.length ? `${result.changes.length} changed` : 'no change'}\n`;
  return head + result.changes.map((c) => `    ${c.key.gpuTypeId} x${c.key.gpuCount} ${c.key.cloud}: ${describeState(c.from)} -> ${describeState(c.to)}\n`).join('');
}

/** `demo`: the watcher running against the built-in simulator, narrated step by step. */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run against the built-in RunPod simulator: no key, no network')
    .option('--step-every <duration>', 'how often the simulated market moves (and the watcher polls)', '5s')
    .option('--steps <n>', 'stop after this many market steps (default: run until Ctrl-C)')
    .option('--story-end', 'stop once the story is told: after every scripted market step, once')
    .option('--db <file>', 'SQLite file for the demo history (default: a fresh one in a new temporary folder, each run)')
    .action(async (opts: { stepEvery: string; steps?: string; storyEnd?: true; db?: string }) => {
      const stepMs = parseDuration(opts.stepEvery);
      if (stepMs === undefined) throw new UsageError(`--step-every must be a duration like 5s, got "${opts.stepEvery}"`);
      if (opts.steps !== undefined && opts.storyEnd) throw new UsageError('--steps and --story-end cannot be used together');
      const scenario = await loadScenario(DEMO_SCENARIO_PATH);
      const maxSteps = opts.storyEnd ? scenario.steps.length : opts.steps === undefined ? Infinity : positiveInt(opts.steps, '--steps');
      // A fresh database each run, so every run tells the same story: a database kept from an earlier
      // run would carry its pods, alerts and journal into a simulator that has never seen them.
      const db = opts.db ?? join(await mkdtemp(join(tmpdir(), 'gpu-watcher-demo-')), 'demo.db');

      // The demo key exists only between this process and its own simulator.
      const apiKey = `demo_${randomBytes(12).toString('hex')}`;
      const sim = await RunpodSimulator.start({ ...scenario, stepEvery: undefined, apiKey });
      const receiver = await startCountingReceiver();
      const env = { ...io.env, RUNPOD_API_URL: sim.url, RUNPOD_REST_URL: sim.restUrl, RUNPOD_API_KEY: apiKey, GPU_WATCHER_DB: db, DEMO_WEBHOOK_URL: receiver.url };
      const config = await loadConfig(DEMO_CONFIG_PATH, env, { required: true });
      // The narration is the demo's output; logs only say what went wrong (LOG_LEVEL can say more).
      const logger = commandLogger(io, 'warn');
      const daemon = createDaemon({ config, dbPath: db, apiKey, dryRun: false, clock: systemClock, logger, metrics: true });
      const { store, api, watcher, dispatcher } = daemon;
      const handler = createHandler({ daemon, config, clock: systemClock, dryRun: false, periodMs: stepMs, assets: loadDashboardAssets() });
      // The configured port, or any free one when something else holds it.
      const server = await startHttpServer(config.http?.listen ?? '127.0.0.1:0', handler, logger).catch(() => startHttpServer('127.0.0.1:0', handler, logger));
      dispatcher.start();
      const out = (text: string): void => void io.stdout.write(text);

      try {
        out(`RunPod simulator at ${sim.url}: a scripted market, no key and no network needed\n`);
        out(`dashboard: ${server.url}/   (metrics at ${server.url}/metrics, status at ${server.url}/api/status)\n\n`);
        out(`== gpu-watcher check -c config/demo.yaml\n`);
        for (const line of describeConfig(config, true)) out(`${line}\n`);
        out(`\n== gpu-watcher gpus\n${formatCatalog(await api.catalog({ gpuCount: 1, cloud: 'ALL' }))}\n`);
        out(`== gpu-watcher run (history in ${db}); the market moves and the watcher polls every ${opts.stepEvery}\n`);

        const seenEvents = new Set(store.outbox.recent(1_000).map((e) => e.id));
        let source = api.source;
        /** The cycle's new events, deploys with the API they went through, after a line when the watcher switched APIs. */
        const newEvents = (): string => {
          const switched = api.source !== source ? `  the watcher now calls RunPod ${SOURCE_NAMES[api.source]} (was ${SOURCE_NAMES[source]}): market and pods come from it\n` : '';
          source = api.source;
          const events = store.outbox
            .recent(50)
            .reverse()
            .filter((event) => !seenEvents.has(event.id) && seenEvents.add(event.id))
            .map((event) => `  event ${event.type}: ${event.summary}${event.type === 'pod.deployed' ? ` (through ${SOURCE_NAMES[source]})` : ''}\n`)
            .join('');
          return switched + events;
        };
        out(`[start] RunPod API: ${SOURCE_NAMES[source]}\n${narrate(await watcher.tick())}${newEvents()}`);
        const shutdown = io.waitForShutdown().then(() => true);
        for (let step = 1; step <= maxSteps; step++) {
          const stop = await Promise.race([shutdown, new Promise<false>((resolve) => setTimeout(resolve, stepMs, false))]);
          if (stop) break;
          const note = sim.advance();
          out(`[step ${step}] market: ${note ?? 'unchanged'}\n${narrate(await watcher.tick())}${newEvents()}`);
        }
        out(`\n${receiver.count()} notification(s) delivered to the demo webhook; see what was recorded: gpu-watcher history --db ${db} --since 1h\n`);
      } finally {
        await watcher.stop();
        await dispatcher.stop();
        await server.close();
        await receiver.close();
        store.close();
        await sim.close();
      }
    });
}
