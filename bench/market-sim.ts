import type { GpuOffer, StockLevel, WatchKey } from '../src/runpod/types.js';

const STOCKS: StockLevel[] = ['High', 'Medium', 'Low', 'None'];

/**
 * A deterministic market for benchmarks: each key holds its state for a random 5 to 30 minutes
 * (10 to 60 polls of 30 s), then moves to a new stock level or price.
 */
export class BenchMarket {
  private seed = 42;
  private readonly until: number[];
  private readonly offers: GpuOffer[];

  constructor(readonly keys: readonly WatchKey[]) {
    this.until = keys.map(() => 0);
    this.offers = keys.map((key) => ({ key, displayName: null, stock: 'High', stockRaw: 'High', onDemandPrice: 0.79, minBidPrice: 0.41, availableGpuCounts: [1, 2, 4] }));
  }

  /** The offers at poll number `poll`; keys whose time is up change state. */
  at(poll: number): GpuOffer[] {
    this.offers.forEach((offer, i) => {
      if (poll < (this.until[i] ?? 0)) return;
      this.until[i] = poll + 10 + Math.floor(this.random() * 51);
      const stock = STOCKS[Math.floor(this.random() * 4)] ?? 'High';
      this.offers[i] = {
        ...offer,
        stock,
        stockRaw: stock,
        onDemandPrice: Math.round((0.3 + this.random() * 3) * 100) / 100,
        minBidPrice: Math.round((0.2 + this.random() * 2) * 100) / 100,
        availableGpuCounts: stock === 'None' ? [] : [1, 2, 4, 8].slice(0, 1 + Math.floor(this.random() * 4)),
      };
    });
    return this.offers;
  }

  private random(): number {
    this.seed = (this.seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.seed / 2_147_483_648;
  }
}

/** `count` distinct keys. */
export function benchKeys(count: number): WatchKey[] {
  return Array.from({ length: count }, (_, i) => ({ gpuTypeId: `GPU ${i}`, gpuCount: 1, cloud: 'SECURE' as const }));
}
