import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { RunpodSimulator } from '../sim/server.js';
import { loadScenario, type Scenario } from '../sim/scenario.js';
import { portOption } from './context.js';
import type { CliIo } from './io.js';

/** The steady market a bare `sim` serves: no steps, no faults (src/commands and dist/commands are both two levels below the root). */
const STEADY_SCENARIO_PATH = fileURLToPath(new URL('../../scenarios/steady.yaml', import.meta.url));

function describeScenario(scenario: Scenario): string {
  const gpus = `${scenario.gpus.length} GPU types`;
  if (scenario.steps.length === 0) return `${gpus}, a steady market`;
  const pace = scenario.stepEvery === undefined ? 'never taken: no stepEvery' : `one every ${scenario.stepEvery / 1000}s${scenario.loop ? ', looping' : ''}`;
  return `${gpus}, ${scenario.steps.length} steps (${pace})`;
}

/** `sim [--port N] [--scenario FILE] [--introspection]`: the RunPod simulator alone, until SIGINT/SIGTERM. */
export function registerSim(program: Command, io: CliIo): void {
  program
    .command('sim')
    .description('the RunPod simulator alone, to point a daemon or a script at')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)')
    .option('--scenario <file>', 'market script, JSON or YAML: steps that move the market, inject faults or retire GraphQL (default: a steady market, no faults)')
    .option('--introspection', 'answer GraphQL introspection queries (RunPod refuses them)')
    .action(async (opts: { port?: string; scenario?: string; introspection?: boolean }) => {
      const port = opts.port === undefined ? 0 : portOption(opts.port, '--port');
      const scenario = await loadScenario(opts.scenario ?? STEADY_SCENARIO_PATH);
      const sim = await RunpodSimulator.start(scenario, { port, introspection: opts.introspection === true });
      const auth = scenario.apiKey ? 'needs RUNPOD_API_KEY=<the scenario apiKey>' : 'accepts any RUNPOD_API_KEY';
      io.stdout.write(`RunPod simulator listening at ${sim.url} (${describeScenario(scenario)}; ${auth}, as a Bearer header or ?api_key=)\n`);
      io.stdout.write(`try: RUNPOD_API_URL=${sim.url} gpu-watcher gpus\n`);
      await io.waitForShutdown();
      await sim.close();
    });
}
