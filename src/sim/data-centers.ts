import type { SimGpu, SimOffer } from './scenario.js';

/** A Secure Cloud data center of the simulated RunPod. */
export interface SimDataCenter {
  id: string;
  name: string;
  location: string;
  countryCode: string;
  /** Unlisted: shown, but nothing is offered or deployed there (RunPod's own tools skip such). */
  listed: boolean;
}

/**
 * The simulator's data centers. They are fixed (a scenario names GPU offers per cloud, not per
 * data center); the ids follow RunPod's pattern, the rest is ours.
 */
export const DATA_CENTERS: readonly SimDataCenter[] = [
  { id: 'US-KS-2', name: 'US Kansas 2', location: 'Kansas, United States', countryCode: 'US', listed: true },
  { id: 'CA-MTL-1', name: 'Canada Montreal 1', location: 'Quebec, Canada', countryCode: 'CA', listed: true },
  { id: 'EU-RO-1', name: 'Europe Romania 1', location: 'Romania', countryCode: 'RO', listed: true },
  { id: 'EU-SE-1', name: 'Europe Sweden 1', location: 'Sweden', countryCode: 'SE', listed: true },
  { id: 'EU-NL-9', name: 'Europe Netherlands 9', location: 'Netherlands', countryCode: 'NL', listed: false },
];

const LISTED = DATA_CENTERS.filter((dc) => dc.listed);
const LADDER = ['High', 'Medium', 'Low', 'None'];

/** The listed data center a GPU type's Secure Cloud offer is best stocked in: spread over them by id. */
function homeIndex(gpu: SimGpu): number {
  let sum = 0;
  for (const char of gpu.id) sum += char.charCodeAt(0);
  return sum % LISTED.length;
}

/** The data center a Secure Cloud pod of this GPU type lands in when the deploy names none. */
export function homeDataCenter(gpu: SimGpu): SimDataCenter {
  return LISTED[homeIndex(gpu)] as SimDataCenter;
}

/**
 * A Secure Cloud offer's stock word in one data center, or undefined where it is not offered
 * (an unknown or unlisted data center). When the scenario lists the offer's data centers, their
 * words hold (undefined in any other). Otherwise the offer's own word (the best across data
 * centers, as RunPod's overall stock is) holds in the GPU type's home data center and falls one
 * step (High, Medium, Low, None) in each next one; a word off that ladder (null, "none", any
 * other) holds in all of them.
 */
export function stockIn(gpu: SimGpu, offer: SimOffer, dataCenterId: string): string | null | undefined {
  if (offer.dataCenters) return offer.dataCenters.find((dc) => dc.id === dataCenterId)?.stock;
  const position = LISTED.findIndex((dc) => dc.id === dataCenterId);
  if (position < 0) return undefined;
  const rung = LADDER.findIndex((word) => word.toLowerCase() === (offer.stock ?? '').toLowerCase());
  const distance = (position - homeIndex(gpu) + LISTED.length) % LISTED.length;
  if (rung < 0 || distance === 0) return offer.stock;
  return LADDER[Math.min(rung + distance, LADDER.length - 1)] ?? null;
}
