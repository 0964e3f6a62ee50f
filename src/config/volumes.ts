import type { CallOptions, RunpodApi } from '../runpod/types.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { Config } from './schema.js';
import type { VolumeDataCenters } from './watched-keys.js';

/**
 * Reads, once, the data center of every network volume the rules' pods mount: RunPod makes a pod
 * where its volume is, so that data center is part of the stock a rule watches. A volume the
 * account does not have, or one in another data center than the pod's own `dataCenterId`, is a
 * config error naming the rule (`ConfigError`); RunPod's own failures propagate as `RunpodError`.
 */
export async function resolveVolumes(api: Pick<RunpodApi, 'networkVolumeDataCenter'>, config: Config, options: CallOptions = {}): Promise<VolumeDataCenters> {
  const volumes = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const [index, rule] of config.rules.entries()) {
    const volumeId = rule.pod.networkVolumeId;
    if (volumeId === undefined) continue;
    const path = `rules[${index}].pod.networkVolumeId`;
    const dataCenterId = volumes.get(volumeId) ?? (await api.networkVolumeDataCenter(volumeId, options));
    if (dataCenterId === null) {
      issues.push({ path, message: `the account has no network volume "${volumeId}"` });
      continue;
    }
    volumes.set(volumeId, dataCenterId);
    if (rule.pod.dataCenterId !== undefined && rule.pod.dataCenterId !== dataCenterId) {
      issues.push({ path, message: `volume "${volumeId}" is in ${dataCenterId}, but the pod's dataCenterId is ${rule.pod.dataCenterId}: RunPod makes a pod where its volume is` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return volumes;
}
