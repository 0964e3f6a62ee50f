import type { Command } from 'commander';
import type { Pod } from '../runpod/types.js';
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

/** `pods [--json]` and `pod stop|start|terminate ID`. */
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

  const pod = program.command('pod').description('stop, start or terminate one pod');
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
      const gpuCount = wanted ?? (await client.getPod(id))?.gpuCount;
      if (gpuCount === undefined) throw new Error(`RunPod knows no pod "${id}"`);
      const resumed = bid === undefined ? await client.resumePod({ podId: id, gpuCount }) : await client.bidResumePod({ podId: id, gpuCount, bidPerGpu: bid });
      io.stdout.write(podLine('started', resumed));
    });
  pod
    .command('terminate <id>')
    .description('podTerminate (REST v2: the terminate action): deletes the pod and its disk for good')
    .addOption(sourceOption())
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (id: string, opts: { source: ApiSource; config?: string }) => {
      const { client } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      await client.terminatePod(id);
      io.stdout.write(`terminated pod ${id}\n`);
    });
}
