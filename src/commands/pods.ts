import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { humanDuration } from '../lib/duration.js';
import { isLive } from '../rules/context.js';
import type { Pod } from '../runpod/types.js';
import { openStoreReader } from '../store/store.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, price, sourceOption, type ApiSource } from './context.js';
import type { CliIo } from './io.js';

/** A pod as `pods` shows it: RunPod's pod, and when the watcher's database knows it, when its ttl ends. */
type ShownPod = Pod & { expiresAt?: string };

/** The container's state in a word: its uptime once up, `starting` while a live pod has none. */
function upText(p: Pod): string {
  if (p.runtime) return humanDuration(p.runtime.uptimeSeconds * 1000);
  return isLive(p) ? 'starting' : '-';
}

/** Pods as a table; the watcher's own pods show the rule that deployed them and the time left to their ttl. */
function formatPods(pods: readonly ShownPod[], now: number): string {
  if (pods.length === 0) return 'no pods\n';
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'UP', 'GPU%', 'GPU', 'KIND', '$/HR', 'RULE', 'ENDS IN'],
    pods.map((p) => [
      p.id,
      p.name,
      p.desiredStatus,
      upText(p),
      p.runtime && p.runtime.gpuUtilPercent.length > 0 ? String(Math.max(...p.runtime.gpuUtilPercent)) : '-',
      `${p.gpuDisplayName ?? p.gpuTypeId ?? '?'} x${p.gpuCount}`,
      p.kind,
      usd(p.costPerHr),
      p.watcher?.rule ?? '-',
      p.expiresAt === undefined ? '-' : Date.parse(p.expiresAt) > now ? humanDuration(Date.parse(p.expiresAt) - now) : 'now',
    ]),
  );
}

/** When each followed pod's ttl ends, from the watcher's database, if there is one to read. */
function expiries(dbPath: string): Map<string, number> {
  const ends = new Map<string, number>();
  if (!existsSync(dbPath)) return ends;
  const store = openStoreReader(dbPath);
  try {
    for (const record of store.lifecycle.open()) if (record.expiresAt !== null) ends.set(record.podId, record.expiresAt);
  } catch {
    // A database from before the lifecycle table (migration 5) knows no ends.
  } finally {
    store.close();
  }
  return ends;
}

const CONFIG_HELP = 'config file, for api.url, api.restUrl and poll.timeout';

const podLine = (verb: string, pod: Pod): string => `${verb} pod ${pod.id} (${pod.name}): ${pod.desiredStatus}, ${usd(pod.costPerHr)}/hr\n`;

/** `pods [--json]` and `pod stop|start|terminate ID`. */
export function registerPods(program: Command, io: CliIo): void {
  program
    .command('pods')
    .description("the account's pods with their uptime and GPU utilisation; those deployed by the watcher marked with their rule and the time left to their ttl")
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { json?: boolean; source: ApiSource; config?: string }) => {
      const { client, config } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      const ends = expiries(io.env.GPU_WATCHER_DB ?? config.store.path);
      const pods: ShownPod[] = (await client.listPods()).map((p) => {
        const end = ends.get(p.id);
        return end === undefined ? p : { ...p, expiresAt: new Date(end).toISOString() };
      });
      io.stdout.write(opts.json ? `${JSON.stringify(pods, null, 2)}\n` : formatPods(pods, Date.now()));
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
