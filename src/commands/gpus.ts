import { Option, type Command } from 'commander';
import { CLOUDS, type CatalogEntry, type Cloud } from '../runpod/types.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, sourceOption, type ApiSource } from './context.js';
import type { CliIo } from './io.js';

/** The catalog as a table: type, name, VRAM, stock, on-demand price, min bid, deployable counts. */
export function formatCatalog(entries: readonly CatalogEntry[]): string {
  return formatTable(
    ['GPU TYPE', 'NAME', 'VRAM', 'STOCK', 'ON-DEMAND $/GPU/HR', 'MIN BID $/GPU/HR', 'COUNTS'],
    entries.map((e) => [
      e.gpuTypeId,
      e.displayName ?? '-',
      e.memoryInGb === null ? '-' : `${e.memoryInGb}GB`,
      e.stock,
      usd(e.onDemandPrice),
      usd(e.minBidPrice),
      e.availableGpuCounts?.length ? e.availableGpuCounts.join(',') : '-',
    ]),
  );
}

/** What the table shows: which cloud, priced for how many GPUs, from which API. */
function catalogHeading(cloud: Cloud, gpuCount: number, source: ApiSource): string {
  const where = cloud === 'ALL' ? 'both clouds (the lower price of SECURE and COMMUNITY)' : `the ${cloud} cloud`;
  const api = source === 'rest' ? ', from REST v2 (no bids or counts)' : '';
  return `GPU types on ${where}, priced for ${gpuCount} GPU${gpuCount === 1 ? '' : 's'} per pod${api} (--cloud, --count):`;
}

/** `gpus [--count N] [--cloud C] [--json]`: the live catalog. */
export function registerGpus(program: Command, io: CliIo): void {
  program
    .command('gpus')
    .description('live table: GPU type, stock, on-demand $/GPU/hr, min bid, counts')
    .option('--count <n>', 'GPUs per pod to price', '1')
    .addOption(new Option('--cloud <cloud>', 'which cloud').choices(CLOUDS).default('ALL'))
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', 'config file, for api.url, api.restUrl and poll.timeout')
    .action(async (opts: { count: string; cloud: Cloud; json?: boolean; source: ApiSource; config?: string }) => {
      const gpuCount = positiveInt(opts.count, '--count');
      const { client } = await apiContext(opts.config, io, { needsKey: false, source: opts.source });
      const entries = await client.catalog({ gpuCount, cloud: opts.cloud });
      if (opts.json) return void io.stdout.write(`${JSON.stringify({ gpuCount, cloud: opts.cloud, gpus: entries }, null, 2)}\n`);
      io.stdout.write(`${catalogHeading(opts.cloud, gpuCount, opts.source)}\n${formatCatalog(entries)}`);
    });
}
