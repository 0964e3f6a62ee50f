import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { describeConfig } from '../config/describe.js';
import { configPath } from './context.js';
import type { CliIo } from './io.js';

/** `check [-c FILE]`: validate the config and print what it will watch and do. */
export function registerCheck(program: Command, io: CliIo): void {
  program
    .command('check')
    .description('validate the config, print what it will watch and do')
    .option('-c, --config <file>', 'config file (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .action(async (opts: { config?: string }) => {
      const { path } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: true });
      io.stdout.write(`${path}: OK\n`);
      for (const line of describeConfig(config, Boolean(io.env.RUNPOD_API_KEY))) io.stdout.write(`${line}\n`);
    });
}
