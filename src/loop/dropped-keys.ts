import type { Logger } from '../lib/logger.js';
import { keyId, type DropReason, type Snapshot } from '../runpod/types.js';

/**
 * Warns about each key a poll dropped once per stretch of answered polls that drop it for the same
 * reason: a GPU id RunPod does not know is said once, with its id and why, not every 30 s. A poll
 * that answers for the key (or drops it for another reason) ends the stretch.
 */
export class DroppedKeys {
  /** Keys the last answered poll dropped, and why. */
  private stretch = new Map<string, DropReason>();

  constructor(private readonly log: Logger) {}

  /** Takes an answered poll's dropped keys: counts each by reason, warns about those new to the stretch. */
  observe(snapshot: Snapshot, counts: Record<DropReason, number>): void {
    const now = new Map<string, DropReason>();
    for (const d of snapshot.dropped) {
      counts[d.reason]++;
      const id = keyId(d.key);
      now.set(id, d.reason);
      if (this.stretch.get(id) === d.reason) continue;
      this.log.warn(
        { key: id, gpu: d.key.gpuTypeId, reason: d.reason, detail: d.detail },
        `${d.key.gpuTypeId} x${d.key.gpuCount} ${d.key.cloud} dropped from the poll (${d.reason}: ${d.detail}); told once until it is back`,
      );
    }
    this.stretch = now;
  }
}
