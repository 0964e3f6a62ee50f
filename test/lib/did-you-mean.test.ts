import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/lib/did-you-mean.js';

describe('didYouMean', () => {
  it.each([
    ['maxPirce', ['name', 'maxPrice', 'bid'], 'maxPrice'],
    ['maxprice', ['maxPrice', 'maxPods'], 'maxPrice'],
    ['NVIDIA RTX A6001', ['NVIDIA RTX A5000', 'NVIDIA RTX A6000', 'NVIDIA H100 80GB HBM3'], 'NVIDIA RTX A6000'],
    ['shedule', ['schedule', 'timeout'], 'schedule'],
    ['evn', ['env', 'ports'], 'env'],
  ])('takes %s for %s', (word, known, meant) => {
    expect(didYouMean(word, known)).toBe(meant);
  });

  it('suggests nothing when no known word is a typo away', () => {
    expect(didYouMean('timezone', ['name', 'cloud', 'spot'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });
});
