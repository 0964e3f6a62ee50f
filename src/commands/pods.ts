import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { humanDuration } from '../lib/duration.js';
import { isLive } from '../rules/context.js';
import type { Pod } from '../runpod/types.js';
import { openStoreReader } from '../store/store.js';
import { RunpodError } from '../runpod/errors.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, price, sourceOption, type ApiSource } from './context.js';
import type { CliIo } from './io.js';

/** A pod as `pods` shows it: RunPod's pod, and what the watcher's database knows of it: its spend so far (null: no account of it) and when its ttl ends. */
type ShownPod = Pod & { spent: number | null; expiresAt?: string };

/** The container's state in a word: its uptime once up, `starting` while a live pod has none. */
function upText(p: Pod): string {
  if (p.runtime) return humanDuration(p.runtime.uptimeSeconds * 1000);
  return isLive(p) ? 'starting' : '-';
}

/** Pods as a table; the watcher's own pods show the rule that deployed them, their spend so far and the time left to their ttl. */
function formatPods(pods: readonly ShownPod[], now: number): string {
  if (pods.length === 0) return 'no pods\n';
  return formatTable(
    ['ID', 'NAME', 'STATUS', 'UP', 'GPU%', 'GPU', 'KIND', '$/HR', 'RULE', 'SPENT', 'ENDS IN'],
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
      usd(p.spent),
      p.expiresAt === undefined ? '-' : Date.parse(p.expiresAt) > now ? humanDuration(Date.parse(p.expiresAt) - now) : 'now',
    ]),
  );
}

/** What the watcher's database knows of pods, if there is one to read: each pod's spend so far and when its ttl ends. */
function watcherFacts(dbPath: string): { spent: Map<string, number>; ends: Map<string, number> } {
  const facts = { spent: new Map<string, number>(), ends: new Map<string, number>() };
  if (dbPath === ':memory:' || !existsSync(dbPath)) return facts;
  const store = openStoreReader(dbPath);
  try {
    for (const a of store.spend.accounts()) facts.spent.set(a.podId, a.dollars);
    for (const record of store.lifecycle.open()) if (record.expiresAt !== null) facts.ends.set(record.podId, record.expiresAt);
  } finally {
    store.close();
  }
  return facts;
}

const CONFIG_HELP = 'config file, for api.url, api.restUrl and poll.timeout';

const podLine = (verb: string, pod: Pod): string => `${verb} pod ${pod.id} (${pod.name}): ${pod.desiredStatus}, ${usd(pod.costPerHr)}/hr\n`;

/** `pods [--json]` and `pod stop|start|terminate ID`. */
export function registerPods(program: Command, io: CliIo): void {
  program
    .command('pods')
    .description("the account's pods with their uptime and GPU utilisation; those deployed by the watcher marked with their rule, what they have cost so far and the time left to their ttl")
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', `${CONFIG_HELP}, and store.path for spend and ttl`)
    .option('--db <file>', "the watcher's SQLite file, for each pod's spend so far and ttl (default: GPU_WATCHER_DB or store.path)")
    .action(async (opts: { json?: boolean; source: ApiSource; config?: string; db?: string }) => {
      const { client, config } = await apiContext(opts.config, io, { needsKey: true, source: opts.source });
      const known = watcherFacts(opts.db ?? config.store.path);
      const pods: ShownPod[] = (await client.listPods()).map((p) => {
        const end = known.ends.get(p.id);
        return { ...p, spent: known.spent.get(p.id) ?? null, ...(end === undefined ? {} : { expiresAt: new Date(end).toISOString() }) };
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
