import { keyId, normaliseFilters, type WatchFilters, type WatchKey } from '../runpod/types.js';
import type { AlertConfig, Config, RuleConfig } from './schema.js';

/** A key the watcher records, with what in the config asked for it. */
export interface WatchedKey {
  key: WatchKey;
  sources: string[];
}

/** Each network volume's data center, as read from the account once at start (`resolveVolumes`). */
export type VolumeDataCenters = ReadonlyMap<string, string>;

/** No volume's data center known. */
export const NO_VOLUMES: VolumeDataCenters = new Map();

/** The machine filters of a pod or an alert's `machine`, in canonical form. */
function machineFilters(machine: AlertConfig['machine'], dataCenterId: string | undefined): WatchFilters | undefined {
  return normaliseFilters({
    cudaVersions: machine?.allowedCudaVersions,
    dataCenterId,
    countryCode: machine?.countryCode,
    minVcpuCount: machine?.minVcpuCount,
    minMemoryInGb: machine?.minMemoryInGb,
    supportPublicIp: machine?.supportPublicIp,
    minDisk: machine?.minDisk,
  });
}

/**
 * The machine filters a rule's pod implies: its CUDA versions, data center (named, or its network
 * volume's: a pod is made where its volume is), country, vCPUs, memory, public IP and disk. A volume
 * whose data center is not known yet adds no data center.
 */
function podFilters(pod: RuleConfig['pod'], volumes: VolumeDataCenters): WatchFilters | undefined {
  const volumeDc = pod.networkVolumeId !== undefined ? volumes.get(pod.networkVolumeId) : undefined;
  return machineFilters(pod, pod.dataCenterId ?? volumeDc);
}

/** The key a rule watches for one of its candidates' GPU types: the stock of the machine its pod needs. */
export function candidateKey(rule: RuleConfig, gpuTypeId: string, volumes: VolumeDataCenters): WatchKey {
  const filters = podFilters(rule.pod, volumes);
  return { gpuTypeId, gpuCount: rule.gpuCount, cloud: rule.cloud, ...(filters ? { filters } : {}) };
}

/** The key an alert watches: its GPU type, count and cloud, on the machines its `machine` names. */
export function alertKey(alert: AlertConfig): WatchKey {
  const filters = machineFilters(alert.machine, alert.machine?.dataCenterId);
  return { gpuTypeId: alert.gpu, gpuCount: alert.gpuCount, cloud: alert.cloud, ...(filters ? { filters } : {}) };
}

/**
 * Every key to poll: `watch` entries plus each alert's and each rule candidate's, deduplicated by
 * key id, so keys with equal filters are polled once.
 */
export function watchedKeys(config: Config, volumes: VolumeDataCenters = NO_VOLUMES): WatchedKey[] {
  const byId = new Map<string, WatchedKey>();
  const add = (key: WatchKey, source: string): void => {
    const entry = byId.get(keyId(key)) ?? { key, sources: [] };
    if (!entry.sources.includes(source)) entry.sources.push(source);
    byId.set(keyId(key), entry);
  };
  for (const w of config.watch) add({ gpuTypeId: w.gpu, gpuCount: w.gpuCount, cloud: w.cloud }, 'watch');
  for (const a of config.alerts) add(alertKey(a), `alert ${a.name}`);
  for (const r of config.rules) {
    for (const c of r.candidates) add(candidateKey(r, c.gpu, volumes), `rule ${r.name}`);
  }
  return [...byId.values()];
}
