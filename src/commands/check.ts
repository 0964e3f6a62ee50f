import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { describeConfig } from '../config/describe.js';
import { formatIssue } from '../config/errors.js';
import { placeholderIssues } from '../config/placeholders.js';
import { checkOnline } from './check-online.js';
import { commandLogger, configPath, runpodClient } from './context.js';
import type { CliIo } from './io.js';

/**
 * `check [-c FILE] [--online]`: validate the config and print what it will watch and do, with
 * values still holding an example's placeholder flagged. `--online` also asks RunPod and DNS
 * (`check-online.ts`). Exit 78 for an invalid file, 1 when `--online` found a problem (a
 * placeholder counts then), 0 otherwise.
 */
export function registerCheck(program: Command, io: CliIo): void {
  program
    .command('check')
    .description('validate the config, print what it will watch and do; --online also asks RunPod and DNS')
    .option('-c, --config <file>', 'config file (default: GPU_WATCHER_CONFIG or config/watcher.yaml)')
    .option('--online', 'also check the API key, every GPU id against RunPod\'s catalog, and that each notifier\'s host resolves')
    .action(async (opts: { config?: string; online?: boolean }) => {
      const { path } = configPath(opts.config, io);
      const config = await loadConfig(path, io.env, { required: true });
      const apiKey = io.env.RUNPOD_API_KEY;
      io.stdout.write(`${path}: OK\n`);
      for (const line of describeConfig(config, Boolean(apiKey))) io.stdout.write(`${line}\n`);
      const placeholders = placeholderIssues(config, apiKey);
      for (const issue of placeholders) io.stderr.write(`warning: ${formatIssue(issue)}\n`);
      if (!opts.online) return;
      const logger = commandLogger(io);
      const source = config.api.source === 'rest' ? 'rest' : 'graphql';
      const api = runpodClient(config, apiKey, logger, source);
      // GraphQL's catalog is public: read without the key, the GPU ids are checked even when RunPod refuses it.
      const catalog = source === 'graphql' ? runpodClient(config, undefined, logger, source) : api;
      const report = await checkOnline({ account: api, catalog }, config, Boolean(apiKey));
      for (const line of report.ok) io.stdout.write(`online: ${line}\n`);
      for (const issue of report.problems) io.stderr.write(`${formatIssue(issue)}\n`);
      const problems = report.problems.length + placeholders.length;
      if (problems > 0) throw new Error(`check --online: ${problems} problem(s)`);
    });
}
