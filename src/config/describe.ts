import { formatDuration } from '../lib/duration.js';
import { perGpuHour, usd } from '../lib/format.js';
import { describeFilters } from '../runpod/types.js';
import type { AlertConfig, Config, RuleConfig } from './schema.js';
import { alertKey, watchedKeys } from './watched-keys.js';

const gpuLabel = (gpu: string, count: number, cloud: string): string => `${gpu} x${count} ${cloud}`;
const to = (notify: readonly string[]): string => (notify.length ? ` -> ${notify.join(', ')}` : ' (no notifiers)');

function describeAlert(a: AlertConfig): string {
  const conditions = [
    a.when.stockAtLeast && `stock >= ${a.when.stockAtLeast}`,
    a.when.maxPrice !== undefined && `on-demand <= ${perGpuHour(a.when.maxPrice)}`,
    a.when.maxBid !== undefined && `min bid <= ${perGpuHour(a.when.maxBid)}`,
  ].filter(Boolean);
  const repeat = a.repeat ? `, remind every ${formatDuration(a.repeat)}` : '';
  return `alert ${a.name}: ${gpuLabel(a.gpu, a.gpuCount, a.cloud)}${describeFilters(alertKey(a).filters)} when ${conditions.join(' and ')}, after ${a.for} poll(s)${repeat}${a.resolved ? ', tells when resolved' : ''}${to(a.notify)}`;
}

function describeRule(r: RuleConfig): string[] {
  const lifetime = r.maxDeploys === undefined ? 'no lifetime limit (replaces pods that die)' : `disarms after ${r.maxDeploys} deploy(s)`;
  const lines = [
    `rule ${r.name}: keeps up to ${r.maxPods} pod(s), ${lifetime}; stock >= ${r.minStock}, spot ${r.spot}, refused candidates rest ${formatDuration(r.retryAfter)}${to(r.notify)}`,
  ];
  r.candidates.forEach((c, i) => {
    const ways: string[] = [];
    if (c.bid !== undefined && r.spot !== 'never') ways.push(`spot when min bid <= ${perGpuHour(c.bid)} (bids ${perGpuHour(c.bid)})`);
    if (c.maxPrice !== undefined && r.spot !== 'only') {
      ways.push(`on-demand when price <= ${perGpuHour(c.maxPrice)} (deployCost ${usd(c.maxPrice * r.gpuCount)}/hr)`);
    }
    lines.push(`  ${i + 1}. ${gpuLabel(c.gpu, r.gpuCount, r.cloud)}: ${ways.join('; else ')}`);
  });
  const image = r.pod.imageName ? `image ${r.pod.imageName}` : `template ${r.pod.templateId ?? '?'}`;
  lines.push(`  pod "${r.pod.name ?? r.name}" from ${image}${r.pod.env ? `, env ${Object.keys(r.pod.env).join(', ')}` : ''}`);
  return lines;
}

/** For a rule's key whose pod mounts a network volume: its data center is read from the account at start. */
function volumeNote(config: Config, sources: readonly string[]): string {
  const volumes = config.rules.filter((r) => sources.includes(`rule ${r.name}`) && r.pod.networkVolumeId !== undefined && r.pod.dataCenterId === undefined);
  return volumes.length > 0 ? ` · the data center of volume ${volumes.map((r) => r.pod.networkVolumeId).join(', ')} (read at start)` : '';
}

/** What `check` prints: what the config will watch and do, with no secret in it. */
export function describeConfig(config: Config, hasApiKey: boolean): string[] {
  const keys = watchedKeys(config);
  const notifiers = Object.entries(config.notifiers).map(([n, c]) => {
    const facts = [c.type, ...(c.type === 'webhook' && c.secret ? ['signed'] : []), ...(c.events ? [`events ${c.events.join(' ')}`] : []), ...(c.minSeverity ? [`${c.minSeverity} and up`] : [])];
    return `${n} (${facts.join(', ')})`;
  });
  const lines = [
    `RunPod API: ${config.api.url} (RUNPOD_API_KEY ${hasApiKey ? 'set' : 'not set: catalog reads only, no deploys'})`,
    `poll: "${config.poll.schedule}", timeout ${formatDuration(config.poll.timeout)}`,
    `store: ${config.store.path}, keeps ${formatDuration(config.store.retention)}`,
    `http: ${config.http ? `${config.http.listen}${config.http.token ? ' (token required)' : ''}${config.http.allowedHosts.length ? `, also reached as ${config.http.allowedHosts.join(', ')}` : ''}` : 'off'}`,
    `notifiers: ${notifiers.length ? notifiers.join(', ') : 'none'}`,
    `watching ${keys.length} GPU key(s):`,
    ...keys.map((k) => `  ${gpuLabel(k.key.gpuTypeId, k.key.gpuCount, k.key.cloud)}${describeFilters(k.key.filters)}${volumeNote(config, k.sources)} (${k.sources.join(', ')})`),
    ...config.alerts.map(describeAlert),
    ...config.rules.flatMap(describeRule),
    ...config.resume.map(
      (r) => `resume ${r.name}: pod ${r.podId} x${r.gpuCount} when its GPU type has stock, ${r.bid !== undefined ? `podBidResume at ${perGpuHour(r.bid)}` : 'podResume'}${to(r.notify)}`,
    ),
  ];
  if (config.budget) {
    const limits = [
      config.budget.maxPods !== undefined && `at most ${config.budget.maxPods} watcher pod(s)`,
      config.budget.maxHourlySpend !== undefined && `at most ${usd(config.budget.maxHourlySpend)}/hr`,
      config.budget.maxSpend !== undefined && `spend at most ${maxSpendText(config.budget.maxSpend)}`,
    ].filter(Boolean);
    lines.push(`budget: ${limits.join(', ')}`);
  }
  return lines;
}

/** budget.maxSpend in words: `$50.00/day, $800.00/month (UTC)`; a limit not set (null or absent) is left out. */
export function maxSpendText(limits: { day?: number | null | undefined; month?: number | null | undefined }): string {
  const parts = [limits.day == null ? undefined : `${usd(limits.day)}/day`, limits.month == null ? undefined : `${usd(limits.month)}/month`];
  return `${parts.filter(Boolean).join(', ')} (UTC)`;
}
