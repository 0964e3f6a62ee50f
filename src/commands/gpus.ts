import { Option, type Command } from 'commander';
import { CLOUDS, describeFilters, normaliseFilters, type CatalogEntry, type Cloud } from '../runpod/types.js';
import { usd } from '../lib/format.js';
import { formatTable } from '../lib/table.js';
import { apiContext, positiveInt, sourceOption, UsageError, type ApiSource } from './context.js';
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

/** The machine filter options, as commander gives them. */
interface FilterOptions {
  cuda?: string[];
  dataCenter?: string;
  country?: string;
  minVcpu?: string;
  minMemory?: string;
  publicIp?: boolean;
  minDisk?: string;
}

/** A CUDA version option value, checked: "12.8", several as "12.4,12.8" or the option repeated. */
function cudaList(value: string, previous: string[] = []): string[] {
  const versions = value.split(',').map((v) => v.trim());
  const bad = versions.find((v) => !/^\d+\.\d+$/.test(v));
  if (bad !== undefined) throw new UsageError(`--cuda: "${bad}" is not a CUDA version such as 12.8`);
  return [...previous, ...versions];
}

/** A `--country` value: a two-letter code, any case. */
function countryCode(value: string): string {
  if (!/^[A-Za-z]{2}$/.test(value)) throw new UsageError(`--country must be a two-letter country code such as RO, got "${value}"`);
  return value.toUpperCase();
}

/** What the table shows: which cloud, priced for how many GPUs, from which API. */
function catalogHeading(cloud: Cloud, gpuCount: number, source: ApiSource): string {
  const where = cloud === 'ALL' ? 'both clouds (the lower price of SECURE and COMMUNITY)' : `the ${cloud} cloud`;
  const api = source === 'rest' ? ', from REST v2 (no bids or counts)' : '';
  return `GPU types on ${where}, priced for ${gpuCount} GPU${gpuCount === 1 ? '' : 's'} per pod${api} (--cloud, --count):`;
}

/** `gpus [--count N] [--cloud C] [--json] [machine filters]`: the live catalog, on the machines passing the filters. */
export function registerGpus(program: Command, io: CliIo): void {
  program
    .command('gpus')
    .description('live table: GPU type, stock, on-demand $/GPU/hr, min bid, counts')
    .option('--count <n>', 'GPUs per pod to price', '1')
    .addOption(new Option('--cloud <cloud>', 'which cloud').choices(CLOUDS).default('ALL'))
    .option('--json', 'print JSON')
    .addOption(sourceOption())
    .option('-c, --config <file>', 'config file, for api.url, api.restUrl and poll.timeout')
    .option('--cuda <versions>', 'only machines running one of these CUDA versions (12.8, or 12.4,12.8)', cudaList)
    .option('--data-center <id>', 'only machines in this data center (e.g. EU-RO-1)')
    .option('--country <code>', 'only machines in this country (e.g. RO)')
    .option('--min-vcpu <n>', 'only machines with at least this many vCPUs for the pod')
    .option('--min-memory <gb>', 'only machines with at least this much memory (GB) for the pod')
    .option('--public-ip', 'only machines with a public IP')
    .option('--min-disk <gb>', 'only machines with at least this much disk (GB)')
    .action(async (opts: { count: string; cloud: Cloud; json?: boolean; source: ApiSource; config?: string } & FilterOptions) => {
      const gpuCount = positiveInt(opts.count, '--count');
      const filters = normaliseFilters({
        cudaVersions: opts.cuda,
        dataCenterId: opts.dataCenter,
        countryCode: opts.country === undefined ? undefined : countryCode(opts.country),
        minVcpuCount: opts.minVcpu === undefined ? undefined : positiveInt(opts.minVcpu, '--min-vcpu'),
        minMemoryInGb: opts.minMemory === undefined ? undefined : positiveInt(opts.minMemory, '--min-memory'),
        supportPublicIp: opts.publicIp,
        minDisk: opts.minDisk === undefined ? undefined : positiveInt(opts.minDisk, '--min-disk'),
      });
      const { client } = await apiContext(opts.config, io, { needsKey: false, source: opts.source });
      const entries = await client.catalog({ gpuCount, cloud: opts.cloud, filters });
      const label = `×${gpuCount} ${opts.cloud}${describeFilters(filters)}`;
      const json = { gpuCount, cloud: opts.cloud, ...(filters ? { filters } : {}), label, gpus: entries };
      if (opts.json) return void io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      io.stdout.write(`${catalogHeading(opts.cloud, gpuCount, opts.source)}\n${filters ? `machines: ${label}\n` : ''}${formatCatalog(entries)}`);
    });
}
