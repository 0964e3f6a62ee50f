import { randomBytes } from 'node:crypto';

// A pod of the simulated account, and what a deploy request makes of one.

export type SimCloud = 'SECURE' | 'COMMUNITY';
export type PodStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'EXITED' | 'PAUSED' | 'DEAD' | 'TERMINATED';

/** A pod the simulated account holds. */
export interface SimPod {
  id: string;
  name: string;
  desiredStatus: PodStatus;
  imageName: string | null;
  costPerHr: number;
  gpuCount: number;
  gpuTypeId: string;
  cloud: SimCloud;
  podType: 'RESERVED' | 'INTERRUPTABLE';
  /** `KEY=value` strings, as RunPod returns them. */
  env: string[];
  /** Where a Secure Cloud pod runs; null on Community Cloud (filtered by country, not data center). */
  dataCenterId: string | null;
  /** What the deploy asked for that RunPod shows on the pod. */
  spec: SimPodSpec;
  /** Epoch ms: created, last started (null: never), last changed status. */
  createdAt: number;
  startedAt: number | null;
  statusChangedAt: number;
  /** Dollars billed for the billed stretches already ended (see bill.ts); undefined: none yet. */
  billed?: number;
}

/** The deploy's settings RunPod echoes on the pod. */
export interface SimPodSpec {
  ports?: string;
  port?: string;
  dockerArgs?: string;
  templateId?: string;
  volumeMountPath?: string;
  networkVolumeId?: string;
  containerDiskInGb?: number;
  volumeInGb?: number;
}

/** A pod put into the account directly: what is not given defaults as a fresh deploy would have it. */
export type PodSeed = Omit<SimPod, 'id' | 'dataCenterId' | 'spec' | 'createdAt' | 'startedAt' | 'statusChangedAt'> & Partial<SimPod>;

/** The machine a simulated pod gets per GPU: vCPUs and GB of memory. */
export const VCPUS_PER_GPU = 8;
export const MEMORY_GB_PER_GPU = 62;

type Input = Record<string, unknown>;

const TEXT_SPEC = ['ports', 'dockerArgs', 'templateId', 'volumeMountPath', 'networkVolumeId'] as const;
const NUMBER_SPEC = ['containerDiskInGb', 'volumeInGb'] as const;

/** The pod spec from a deploy input, keeping only fields of the right type (`port` is RunPod's Port scalar: a number or a string). */
export function specOf(input: Input): SimPodSpec {
  const spec: SimPodSpec = {};
  for (const key of TEXT_SPEC) if (typeof input[key] === 'string') spec[key] = input[key];
  for (const key of NUMBER_SPEC) if (typeof input[key] === 'number') spec[key] = input[key];
  if (typeof input.port === 'string' || typeof input.port === 'number') spec.port = String(input.port);
  return spec;
}

/** A pod id in RunPod's style: 14 lower-case letters and digits. */
export function newPodId(): string {
  return randomBytes(10).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x').slice(0, 14);
}
