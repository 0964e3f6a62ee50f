import { describe, expect, it } from 'vitest';
import { perGpuHour, usd } from '../../src/lib/format.js';

describe('the one money format', () => {
  it.each([
    [0.79, '$0.79'],
    [0.345, '$0.345'],
    [2, '$2.00'],
    [0.5, '$0.50'],
    [0, '$0.00'],
    [0.1 + 0.2, '$0.30'],
    [1234.5678, '$1234.568'],
  ])('%s is %s', (amount, text) => {
    expect(usd(amount)).toBe(text);
  });

  it('says what the caller chose when there is no amount', () => {
    expect([usd(null), usd(undefined), usd(null, 'no price')]).toEqual(['-', '-', 'no price']);
  });

  it('writes a price per GPU per hour with its unit, and no price as "no price" unless told', () => {
    expect([perGpuHour(0.79), perGpuHour(3.5), perGpuHour(null), perGpuHour(undefined, '-')]).toEqual(['$0.79/GPU/hr', '$3.50/GPU/hr', 'no price', '-']);
  });
});
