import type { Command } from 'commander';
import { RunpodSimulator } from '../sim/server.js';
import { loadScenario } from '../sim/scenario.js';
import { DEMO_SCENARIO_PATH } from './demo.js';
import { positiveInt } from './context.js';
import type { CliIo } from './io.js';

/** `sim [--port N] [--scenario FILE]`: the RunPod simulator alone, until SIGINT/SIGTERM. */
export function registerSim(program: Command, io: CliIo): void {
  program
    .command('sim')
    .description('the RunPod simulator alone, to point a daemon or a script at')
    .option('--port <n>', 'port on 127.0.0.1 (default: any free port)')
    .option('--scenario <file>', 'market script, JSON or YAML (default: the demo market)')
    .action(async (opts: { port?: string; scenario?: string }) => {
      const scenario = await loadScenario(opts.scenario ?? DEMO_SCENARIO_PATH);
      const sim = await RunpodSimulator.start(scenario, { port: opts.port === undefined ? 0 : positiveInt(opts.port, '--port') });
      const auth = scenario.apiKey ? 'needs RUNPOD_API_KEY=<the scenario apiKey>' : 'accepts any RUNPOD_API_KEY';
      io.stdout.write(`RunPod simulator listening at ${sim.url} (${scenario.gpus.length} GPU types, ${scenario.steps.length} steps; ${auth})\n`);
      io.stdout.write(`try: RUNPOD_API_URL=${sim.url} gpu-watcher gpus\n`);
      await io.waitForShutdown();
      await sim.close();
    });
}
