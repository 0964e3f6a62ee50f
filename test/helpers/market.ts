import type { ScenarioInput } from '../../src/sim/scenario.js';

/** A small market for tests: an A6000 in stock on both clouds, an A5000 low, an H100 sold out. */
export function testMarket(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    apiKey: TEST_KEY,
    gpus: [
      {
        id: 'NVIDIA RTX A6000',
        displayName: 'RTX A6000',
        memoryInGb: 48,
        secure: { stock: 'High', price: 0.79, minBid: 0.41, counts: [1, 2, 4] },
        community: { stock: 'Medium', price: 0.49, minBid: 0.25, counts: [1, 2] },
      },
      {
        id: 'NVIDIA RTX A5000',
        displayName: 'RTX A5000',
        memoryInGb: 24,
        secure: { stock: 'Low', price: 0.36, minBid: 0.2, counts: [1] },
      },
      {
        id: 'NVIDIA H100 80GB HBM3',
        displayName: 'H100 SXM',
        memoryInGb: 80,
        secure: { stock: null, price: null, minBid: null, counts: [] },
      },
    ],
    ...overrides,
  };
}

/** The key tests use; every test that logs or records checks it never leaks. */
export const TEST_KEY = 'rpa_TESTKEY0123456789abcdefSECRET';
