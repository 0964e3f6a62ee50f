import type { RunpodError } from '../../src/runpod/errors.js';
import { RunpodRestClient } from '../../src/runpod/rest/client.js';
import type { Logger } from '../../src/lib/logger.js';
import type { RunpodSimulator } from '../../src/sim/server.js';
import type { FakeClock } from './fake-clock.js';
import { TEST_KEY } from './market.js';

/** A REST v2 client on the simulator's /v2, with the test key unless told otherwise. */
export function restClientFor(
  sim: RunpodSimulator,
  options: { apiKey?: string | undefined; timeoutMs?: number; clock?: FakeClock; logger?: Logger; onError?: (e: RunpodError) => void; url?: string; fetch?: typeof fetch } = {},
): RunpodRestClient {
  return new RunpodRestClient({
    url: options.url ?? sim.restUrl,
    apiKey: 'apiKey' in options ? options.apiKey : TEST_KEY,
    timeoutMs: options.timeoutMs ?? 2_000,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

/** The JSON body of a recorded request. */
export const bodyOf = (request: { body: string } | undefined): any => JSON.parse(request?.body || '{}');
