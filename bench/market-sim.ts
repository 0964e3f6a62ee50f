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

/**
 * Fleet figures for benchmarks, per key: a fleet of 40 to 2,000 GPUs whose rented count moves every
 * poll by up to 0.5% of the fleet (at least one GPU) either way, held between 50% and 100% rented,
 * and whose size changes by a machine (8 GPUs) every 2 to 12 hours. Deterministic, like BenchMarket.
 */
export class BenchFleet {
  private seed = 7;
  private readonly fleets: { total: number; rented: number; resizeAt: number }[];

  constructor(keys: number) {
    this.fleets = Array.from({ length: keys }, () => {
      const total = 40 + Math.floor(this.random() * 1_961);
      return { total, rented: Math.round(total * 0.85), resizeAt: this.resizeAfter(0) };
    });
  }

  /** Adds each key's fleet figures at poll number `poll` to `offers` (one offer per key, in order). */
  at(poll: number, offers: readonly GpuOffer[]): GpuOffer[] {
    return offers.map((offer, i) => {
      const fleet = this.fleets[i];
      if (!fleet) return offer;
      if (poll >= fleet.resizeAt) {
        fleet.total = Math.max(8, fleet.total + (this.random() < 0.5 ? -8 : 8));
        fleet.resizeAt = this.resizeAfter(poll);
      }
      const step = Math.max(1, Math.round(fleet.total * 0.005));
      fleet.rented = Math.min(fleet.total, Math.max(Math.round(fleet.total / 2), fleet.rented + Math.round((this.random() * 2 - 1) * step)));
      const rentalPercentage = Math.round((fleet.rented / fleet.total) * 10_000) / 100;
      return { ...offer, fleet: { rentedCount: fleet.rented, totalCount: fleet.total, rentalPercentage } };
    });
  }

  /** The poll, 2 to 12 hours of 30 s polls after `poll`, at which a fleet next changes size. */
  private resizeAfter(poll: number): number {
    return poll + 240 + Math.floor(this.random() * 1_201);
  }

  private random(): number {
    this.seed = (this.seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return this.seed / 2_147_483_648;
  }
}
