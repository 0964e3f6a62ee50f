import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

/** Which kind of call RunPod refused the key for, or let through. */
export type KeyUse = 'read' | 'write';

/** How long a key refused for a mutation stays refused before one mutation may try it again. */
export const WRITE_RETRY_MS = 60 * 60_000;

/**
 * Whether the watcher may send mutations. Closed without a key, and closed when RunPod refuses the
 * key (said once, clearly). Only a call that needs the key going through opens it again; a catalog
 * read (the snapshot) proves nothing, since RunPod answers it without one.
 * - Refused on a read (the pod list, or a 401 on any call): the pod list, read each cycle while the
 *   gate is closed, opens it when it goes through.
 * - Refused on a mutation: a pod list that goes through proves nothing (RunPod has read-only
 *   keys), so the gate stays closed for `WRITE_RETRY_MS` on the monotonic clock, then lets one
 *   mutation try; its success opens the gate, a refusal closes it for as long again.
 */
export class AuthGate {
  private refusal: { use: KeyUse; atMono: number } | undefined;

  constructor(
    private readonly hasKey: boolean,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  /** Whether a mutation may be sent now. */
  get open(): boolean {
    if (!this.hasKey) return false;
    if (!this.refusal) return true;
    return this.refusal.use === 'write' && this.clock.monotonic() - this.refusal.atMono >= WRITE_RETRY_MS;
  }

  get keyed(): boolean {
    return this.hasKey;
  }

  /** Whether a key is set and RunPod's last word on it was a refusal. */
  get refused(): boolean {
    return this.hasKey && this.refusal !== undefined;
  }

  /** Whether a key is set and RunPod has not refused it. */
  get accepted(): boolean {
    return this.hasKey && this.refusal === undefined;
  }

  refuse(detail: string, use: KeyUse): void {
    if (!this.refusal) {
      const next = use === 'read' ? 'the pod list is read each cycle to find out when it is accepted' : `one mutation tries again in ${WRITE_RETRY_MS / 60_000} min`;
      this.logger.error({ detail, use }, `RunPod refused the API key: no deploys or resumes until it is accepted (${next}); check RUNPOD_API_KEY`);
    }
    this.refusal = { use, atMono: this.clock.monotonic() };
  }

  /** Opens the gate after a call that needed the key went through, unless a read cannot vouch for the refused use. */
  accept(use: KeyUse): void {
    if (!this.refusal || (use === 'read' && this.refusal.use === 'write')) return;
    if (this.hasKey) this.logger.info({ use }, 'RunPod accepts the API key again; mutations resume');
    this.refusal = undefined;
  }
}
