import { describe, expect, it } from 'vitest';
import { parseSnapshot } from '../../src/runpod/graphql/snapshot-query.js';
import type { WatchKey } from '../../src/runpod/types.js';

const KEY: WatchKey = { gpuTypeId: 'NVIDIA H100 80GB HBM3', gpuCount: 1, cloud: 'SECURE' };
/** The snapshot's one offer for an answer whose `lowestPrice` carries `figures` beside a usable stock and price. */
const offerWith = (figures: Record<string, unknown>) =>
  parseSnapshot([KEY], { k0: [{ id: KEY.gpuTypeId, displayName: 'H100 SXM', lowestPrice: { stockStatus: 'Low', uninterruptablePrice: 2.99, ...figures } }] }, [], true).offers[0];

describe("GraphQL's fleet figures", () => {
  it.each([
    ['all three', { rentedCount: 34, totalCount: 40, rentalPercentage: 85 }, { rentedCount: 34, totalCount: 40, rentalPercentage: 85 }],
    ['some null', { rentedCount: null, totalCount: 40, rentalPercentage: null }, { rentedCount: null, totalCount: 40, rentalPercentage: null }],
    ['a string, a negative and a fraction of a GPU are not given', { rentedCount: '34', totalCount: -1, rentalPercentage: 85 }, { rentedCount: null, totalCount: null, rentalPercentage: 85 }],
    ['a fraction of a GPU is not given', { rentedCount: 3.5, totalCount: 40 }, { rentedCount: null, totalCount: 40, rentalPercentage: null }],
    ['more rented than there are drops both counts', { rentedCount: 45, totalCount: 40, rentalPercentage: 112.5 }, { rentedCount: null, totalCount: null, rentalPercentage: 112.5 }],
  ])('%s', (_, figures, fleet) => {
    const offer = offerWith(figures);
    expect(offer?.fleet).toEqual(fleet);
    // An odd figure never costs the key its stock and price.
    expect([offer?.stock, offer?.onDemandPrice]).toEqual(['Low', 2.99]);
  });

  it('leave no fleet at all when RunPod gives none, absent or null', () => {
    expect(offerWith({})).not.toHaveProperty('fleet');
    expect(offerWith({ rentedCount: null, totalCount: null, rentalPercentage: null })).not.toHaveProperty('fleet');
  });
});
