import type { GpuOffer, StockLevel, WatchKey } from '../../src/runpod/types.js';

/** An offer for tests: a key and the parts of its state that matter to the test. */
export function offer(key: WatchKey, stock: StockLevel, onDemandPrice: number | null, extra: Partial<GpuOffer> = {}): GpuOffer {
  return { key, displayName: null, stock, stockRaw: stock, onDemandPrice, minBidPrice: null, availableGpuCounts: [1, 2], ...extra };
}

export const KEY_A: WatchKey = { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' };
export const KEY_B: WatchKey = { gpuTypeId: 'NVIDIA RTX A5000', gpuCount: 2, cloud: 'ALL' };
