import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Pod } from '../runpod/types.js';
import { openStoreReader } from '../store/store.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, price, sourceOption, type ApiSource } from './context.js';
import type { CliIo } from './io.js';

/** A pod with what the watcher has counted it costing so far (null: the database has no account of it). */
type PodWithSpend = Pod & { spent: number | null };

/** Pods as a table; the watcher's own pods show the rule that deployed them and their spend so far. */
function formatPods(pods: readonly PodWithSpend[]): string {
  if (pods.length === 0) return 'no pods\n';
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'GPU', 'KIND', '$/HR', 'RULE', 'SPENT'],
    pods.map((p) => [
      p.id,
      p.name,
      p.desiredStatus,
      `${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount}`,
      p.kind,
      usd(p.costPerHr),
      p.watcher?.rule ?? '-',
      usd(p.spent),
    ]),
  );
}

const CONFIG_HELP = 'config file, for api.url, api.restUrl and poll.timeout';

/**
 * Each pod's spend so far from the watcher's database, read beside a running daemon; without a
 * database (the watcher never ran here) no pod has any.
 */
function withSpend(pods: readonly Pod[], dbPath: string): PodWithSpend[] {
  const spent = new Map<string, number>();
  if (dbPath !== ':memory:' && existsSync(dbPath)) {
    const store = openStoreReader(dbPath);
    try {
      for (const a of store.spend.accounts()) spent.set(a.podId, a.dollars);
    } finally {
      store.close();
    }
  }
  return pods.map((p) => ({ ...p, spent: spent.get(p.id) ?? null }));
}

const podLine = (verb: string, pod: Pod): string => `${verb} pod ${pod.id} (${pod.name}): ${pod.desiredStatus}, ${usd(pod.costPerHr)}/hr\n`;

/** `pods [--json]` and `pod stop|start ID`. */
export function registerPods(program: Command, io: CliIo): void {
  program
    .command('pods')
    .description("the account's pods; those deployed by the watcher marked with their rule and what they have cost so far")
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', `${CONFIG_HELP}, and store.path for the spend`)
    .option('--db <file>', "the watcher's SQLite file, for each pod's spend so far (default: GPU_WATCHER_DB or store.path)")
    .action(async (opts: { json?: boolean; source: ApiSource; config?: string; db?: string }) => {
      const { client, config } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      const pods = withSpend(await client.listPods(), opts.db ?? config.store.path);
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
      const gpuCount = wanted ?? (await client.getPod(id))?.gpuCount;
      if (gpuCount === undefined) throw new Error(`RunPod knows no pod "${id}"`);
      const resumed = bid === undefined ? await client.resumePod({ podId: id, gpuCount }) : await client.bidResumePod({ podId: id, gpuCount, bidPerGpu: bid });
      io.stdout.write(podLine('started', resumed));
    });
}
