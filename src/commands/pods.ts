import type { Command } from 'commander';
import type { Pod } from '../runpod/types.js';
import { RunpodError } from '../runpod/errors.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, price, sourceOption, type ApiSource } from './context.js';
import type { CliIo } from './io.js';

/** Pods as a table; the watcher's own pods show the rule that deployed them. */
function formatPods(pods: readonly Pod[]): string {
  if (pods.length === 0) return 'no pods\n';
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'GPU', 'KIND', '$/HR', 'RULE'],
    pods.map((p) => [
      p.id,
      p.name,
      p.desiredStatus,
      `${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount}`,
      p.kind,
      usd(p.costPerHr),
      p.watcher?.rule ?? '-',
    ]),
  );
}

const CONFIG_HELP = 'config file, for api.url, api.restUrl and poll.timeout';

const podLine = (verb: string, pod: Pod): string => `${verb} pod ${pod.id} (${pod.name}): ${pod.desiredStatus}, ${usd(pod.costPerHr)}/hr\n`;

/** `pods [--json]` and `pod stop|start ID`. */
export function registerPods(program: Command, io: CliIo): void {
  program
    .command('pods')
    .description("the account's pods; those deployed by the watcher marked with their rule")
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { json?: boolean; source: ApiSource; config?: string }) => {
      const { client } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      const pods = await client.listPods();
      io.stdout.write(opts.json ? `${JSON.stringify(pods, null, 2)}\n` : formatPods(pods));
    });

  const pod = program.command('pod').description('stop or start one pod');
  pod
    .command('stop <id>')
    .description('podStop (REST v2: the stop action)')
    .addOption(sourceOption())
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (id: string, opts: { source: ApiSource; config?: string }) => {
      const { client } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      io.stdout.write(podLine('stopped', await client.stopPod(id)));
    });
  pod
    .command('start <id>')
    .description('podResume, or podBidResume when --bid is given (REST v2: the start action; no bids)')
    .option('--bid <price>', 'spot bid per GPU, $/hr')
    .option('--gpu-count <n>', "GPUs to resume with (default: the pod's)")
    .addOption(sourceOption())
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (id: string, opts: { bid?: string; gpuCount?: string; source: ApiSource; config?: string }) => {
      const bid = opts.bid === undefined ? undefined : price(opts.bid, '--bid');
      const wanted = opts.gpuCount === undefined ? undefined : positiveInt(opts.gpuCount, '--gpu-count');
      const { client } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      // Read when needed for its size, or to tell why a plain start of a spot pod fails.
      const known = wanted === undefined || bid === undefined ? await client.getPod(id) : undefined;
      const gpuCount = wanted ?? known?.gpuCount;
      if (gpuCount === undefined) throw new Error(`RunPod knows no pod "${id}"`);
      if (bid !== undefined) return void io.stdout.write(podLine('started', await client.bidResumePod({ podId: id, gpuCount, bidPerGpu: bid })));
      try {
        io.stdout.write(podLine('started', await client.resumePod({ podId: id, gpuCount })));
      } catch (error) {
        if (known?.kind !== 'spot' || !(error instanceof RunpodError) || opts.source === 'rest') throw error;
        throw new Error(`${error.message}; pod ${id} is a spot pod: start it with --bid PRICE, at least its GPU's minimum bid (gpu-watcher gpus)`);
      }
    });
}
