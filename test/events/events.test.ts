import { describe, expect, it } from 'vitest';
import type { GpuOffer } from '../../src/runpod/types.js';
import { eventGpu } from '../../src/events/event.js';

const offer: GpuOffer = {
  key: { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 2, cloud: 'SECURE' },
  displayName: 'RTX A6000',
  stock: 'None',
  stockRaw: 'Unavailable',
  onDemandPrice: 0.79,
  minBidPrice: null,
  availableGpuCounts: [1, 2],
};

describe("an event's gpu object", () => {
  it("keeps RunPod's field names and RunPod's own stock word", () => {
    expect(eventGpu(offer)).toEqual({ id: 'NVIDIA RTX A6000', gpuCount: 2, cloud: 'SECURE', stockStatus: 'Unavailable', uninterruptablePrice: 0.79, minimumBidPrice: null });
  });

  it('falls back to the stock level when RunPod sent no word', () => {
    expect(eventGpu({ ...offer, stock: 'None', stockRaw: null }).stockStatus).toBe('None');
  });
});
