import { createHash } from 'node:crypto';
import { DATA_CENTERS } from './data-centers.js';
import type { Market } from './market.js';
import { MEMORY_GB_PER_GPU, VCPUS_PER_GPU, containerAt, type SimPod } from './pod.js';
import type { SimGpu, SimOffer } from './scenario.js';

// How the market's GPU types and pods look in RunPod's GraphQL schema. Values RunPod computes from
// machines the market does not model (ids, addresses, savings plans) are made up, but stable.

/** The simulator's savings-plan discounts on the Secure Cloud price (its own numbers). */
const PLAN_FACTORS = { oneWeekPrice: 0.95, oneMonthPrice: 0.9, threeMonthPrice: 0.85, sixMonthPrice: 0.8, oneYearPrice: 0.75 } as const;

const hexOf = (text: string): string => createHash('sha256').update(text).digest('hex');
const cents = (value: number): number => Math.round(value * 100) / 100;
const largest = (offer: SimOffer | undefined): number | null => (offer?.counts ? Math.max(0, ...offer.counts) : null);

/** A GPU type with its list prices; spot prices are null once spot is retired. */
export function gpuTypeView(gpu: SimGpu, spotServed: boolean): Record<string, unknown> {
  const securePrice = gpu.secure?.price ?? null;
  const plans = Object.fromEntries(Object.entries(PLAN_FACTORS).map(([field, factor]) => [field, securePrice === null ? null : cents(securePrice * factor)]));
  const secureMax = largest(gpu.secure);
  const communityMax = largest(gpu.community);
  return {
    id: gpu.id,
    displayName: gpu.displayName ?? gpu.id,
    manufacturer: /^(NVIDIA|AMD)\b/.exec(gpu.id)?.[1] ?? null,
    memoryInGb: gpu.memoryInGb ?? null,
    secureCloud: gpu.secure !== undefined,
    communityCloud: gpu.community !== undefined,
    securePrice,
    communityPrice: gpu.community?.price ?? null,
    secureSpotPrice: spotServed ? (gpu.secure?.minBid ?? null) : null,
    communitySpotPrice: spotServed ? (gpu.community?.minBid ?? null) : null,
    ...plans,
    clusterPrice: null,
    maxGpuCount: secureMax === null && communityMax === null ? null : Math.max(secureMax ?? 0, communityMax ?? 0),
    maxGpuCountSecureCloud: secureMax,
    maxGpuCountCommunityCloud: communityMax,
    minPodGpuCount: 1,
  };
}

/** A number fixed per pod, from which its made-up addresses and ids are drawn. */
export const podSeed = (pod: SimPod): number => parseInt(hexOf(pod.id).slice(0, 8), 16);

/** What the pod's `ports` ("8888/http,22/tcp") look like once it runs: HTTP behind RunPod's proxy, TCP on a public address on Secure Cloud. */
export function runtimePorts(pod: SimPod, seed: number): Record<string, unknown>[] {
  const entries = (pod.spec.ports ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  return entries.flatMap((entry, index) => {
    const [port, type = 'http'] = entry.split('/');
    const privatePort = Number(port);
    if (!Number.isInteger(privatePort)) return [];
    const isIpPublic = type === 'tcp' && pod.cloud === 'SECURE';
    // Documentation and shared address ranges: never a real host.
    const ip = isIpPublic ? `203.0.113.${(seed % 250) + 1}` : `100.65.${seed % 250}.${(seed >>> 8) % 250}`;
    return [{ ip, isIpPublic, privatePort, publicPort: isIpPublic ? 10_000 + ((seed + index * 7_919) % 50_000) : privatePort, type }];
  });
}

function statusText(pod: SimPod): string {
  const verb: Partial<Record<SimPod['desiredStatus'], string>> = { RUNNING: 'Rented', EXITED: 'Exited', TERMINATED: 'Terminated' };
  return `${verb[pod.desiredStatus] ?? 'Changed'} by User: ${new Date(pod.statusChangedAt).toUTCString()}`;
}

/** A pod as RunPod's schema answers it: the market's pod with its machine, runtime and times filled in. */
export function podView(pod: SimPod, market: Market): Record<string, unknown> {
  const gpu = market.gpus.get(pod.gpuTypeId);
  const dataCenter = DATA_CENTERS.find((dc) => dc.id === pod.dataCenterId);
  const hex = hexOf(pod.id);
  const seed = podSeed(pod);
  const gpuIds = Array.from({ length: pod.gpuCount }, (_, i) => `GPU-${hexOf(`${pod.id}/${i}`).slice(0, 8)}-${hex.slice(8, 12)}`);
  const container = pod.desiredStatus === 'RUNNING' ? containerAt(pod, market.clock.now()) : undefined;
  const up = container?.state === 'up' ? container : undefined;
  const uptimeSeconds = up?.uptimeSeconds ?? 0;
  return {
    id: pod.id,
    name: pod.name,
    desiredStatus: pod.desiredStatus,
    imageName: pod.imageName,
    costPerHr: pod.costPerHr,
    adjustedCostPerHr: pod.costPerHr,
    gpuCount: pod.gpuCount,
    podType: pod.podType,
    env: pod.env,
    ...pod.spec,
    vcpuCount: VCPUS_PER_GPU * pod.gpuCount,
    memoryInGb: MEMORY_GB_PER_GPU * pod.gpuCount,
    volumeEncrypted: false,
    locked: false,
    machineId: `m-${pod.id}`,
    dockerId: hex.slice(0, 12),
    uptimeSeconds,
    lastStatusChange: statusText(pod),
    lastStartedAt: pod.startedAt === null ? null : new Date(pod.startedAt).toISOString(),
    createdAt: new Date(pod.createdAt).toISOString(),
    gpus: gpuIds.map((id) => ({ id, podId: pod.id })),
    // Null until the container is up: a pod still pulling its image, stuck or failed has no runtime.
    runtime: up
      ? {
          uptimeInSeconds: uptimeSeconds,
          ports: runtimePorts(pod, seed),
          gpus: gpuIds.map((id) => ({ id, gpuUtilPercent: up.gpuUtil, memoryUtilPercent: up.gpuUtil > 0 ? 40 : 0 })),
          container: { cpuPercent: up.gpuUtil > 0 ? 25 : 0, memoryPercent: up.gpuUtil > 0 ? 10 : 0 },
        }
      : null,
    machine: {
      id: `m-${pod.id}`,
      podHostId: `${pod.id}-${seed % 100_000_000}`,
      gpuTypeId: pod.gpuTypeId,
      gpuDisplayName: gpu?.displayName ?? pod.gpuTypeId,
      secureCloud: pod.cloud === 'SECURE',
      supportPublicIp: pod.cloud === 'SECURE',
      dataCenterId: pod.dataCenterId,
      location: dataCenter?.location ?? null,
      costPerHr: pod.costPerHr,
      currentPricePerGpu: pod.gpuCount > 0 ? pod.costPerHr / pod.gpuCount : null,
      maxDownloadSpeedMbps: 1_000,
      maxUploadSpeedMbps: 1_000,
    },
  };
}
