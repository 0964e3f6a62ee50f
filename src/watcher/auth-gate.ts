import type { Logger } from '../lib/logger.js';

/**
 * Whether the watcher may send mutations. Closed without a key, and closed when RunPod refuses the
 * key (said once, clearly); opened again when a call with the key goes through.
 */
export class AuthGate {
  private refused = false;

  constructor(
    private readonly hasKey: boolean,
    private readonly logger: Logger,
  ) {}

  get open(): boolean {
    return this.hasKey && !this.refused;
  }

  get keyed(): boolean {
    return this.hasKey;
  }

  refuse(detail: string): void {
    if (!this.refused) {
      this.logger.error({ detail }, 'RunPod refused the API key: no deploys, resumes or pod reads until it is accepted; check RUNPOD_API_KEY');
    }
    this.refused = true;
  }

  accept(): void {
    if (this.refused && this.hasKey) this.logger.info('RunPod accepts the API key again; mutations resume');
    this.refused = false;
  }
}
