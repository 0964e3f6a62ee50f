import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodGraphqlClient } from '../../src/runpod/graphql/client.js';
import type { WatchKey } from '../../src/runpod/types.js';
import type { FaultInput } from '../../src/sim/scenario.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { capturedLogger } from '../helpers/capture.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

const KEYS: WatchKey[] = [
  { gpuTypeId: 'NVIDIA RTX A6000', gpuCount: 1, cloud: 'SECURE' },
  { gpuTypeId: 'NVIDIA RTX A5000', gpuCount: 1, cloud: 'SECURE' },
];
const A5000_ANSWER = [{ id: 'NVIDIA RTX A5000', displayName: 'RTX A5000', lowestPrice: { stockStatus: 'Low', uninterruptablePrice: 0.36, minimumBidPrice: 0.2, availableGpuCounts: [1] } }];
// Enough for the first attempt and both retries of a call.
const EVERY_ATTEMPT = 3;

let sim: RunpodSimulator;
let client: RunpodGraphqlClient;

beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
  client = new RunpodGraphqlClient({ url: sim.url, apiKey: TEST_KEY, timeoutMs: 2_000, clock: new FakeClock(), logger: capturedLogger().logger });
});

afterEach(async () => {
  await sim.close();
});

const raw = (body: unknown): FaultInput => ({ kind: 'raw', body: typeof body === 'string' ? body : JSON.stringify(body), times: EVERY_ATTEMPT });

describe('a snapshot answer with no usable key fails the call', () => {
  it.each([
    { answer: 'a JSON array', fault: raw('[]'), kind: 'transient', message: 'snapshot: malformed answer (not a GraphQL JSON result)' },
    { answer: 'data that is an array', fault: raw({ data: [] }), kind: 'transient', message: 'snapshot: malformed answer (not a GraphQL JSON result)' },
    { answer: 'errors that are an object', fault: raw({ data: null, errors: { message: 'boom' } }), kind: 'transient', message: 'snapshot: malformed answer (not a GraphQL JSON result)' },
    { answer: 'errors holding a null', fault: raw({ data: null, errors: [null] }), kind: 'transient', message: 'snapshot: malformed answer (not a GraphQL JSON result)' },
    { answer: '{"data":null}', fault: raw({ data: null }), kind: 'transient', message: 'snapshot: malformed answer: no watched key got usable data (the answer has no "k0" | the answer has no "k1")' },
    { answer: '{"data":{}}', fault: raw({ data: {} }), kind: 'transient', message: 'snapshot: malformed answer: no watched key got usable data (the answer has no "k0" | the answer has no "k1")' },
    { answer: 'no such GPU for any key', fault: raw({ data: { k0: [], k1: [] } }), kind: 'invalid_request', message: 'snapshot: every key failed: RunPod has no GPU type "NVIDIA RTX A6000" | RunPod has no GPU type "NVIDIA RTX A5000"' },
    {
      answer: 'a transient error on every key',
      fault: { kind: 'graphqlError', scope: 'each', message: 'Something went wrong. Please try again later or contact support.' },
      kind: 'transient',
      message: 'snapshot: every key failed: Something went wrong. Please try again later or contact support.',
    },
    {
      answer: 'a different failure on each key',
      fault: raw({ data: { k0: [] }, errors: [{ message: 'Something went wrong', path: ['k1'] }] }),
      kind: 'transient',
      message: 'snapshot: every key failed: RunPod has no GPU type "NVIDIA RTX A6000" | Something went wrong',
    },
    { answer: 'an auth refusal on every key', fault: { kind: 'graphqlError', scope: 'each', message: 'Unauthorized' }, kind: 'auth', message: 'snapshot: every key failed: Unauthorized' },
  ] as { answer: string; fault: FaultInput; kind: string; message: string }[])('$answer: $kind', async ({ fault, kind, message }) => {
    sim.fault(fault);
    await expect(client.snapshot(KEYS)).rejects.toMatchObject({ name: 'RunpodError', kind, message });
  });

  it('keeps a poll with one usable key partial, each dropped key counted with its reason', async () => {
    sim.fault(raw({ data: { k0: null, k1: A5000_ANSWER }, errors: [{ message: 'Something went wrong', path: ['k0'] }] }));
    const snapshot = await client.snapshot(KEYS);
    expect(snapshot.offers.map((o) => [o.key.gpuTypeId, o.stock])).toEqual([['NVIDIA RTX A5000', 'Low']]);
    expect(snapshot.dropped.map((d) => [d.key.gpuTypeId, d.reason, d.detail])).toEqual([['NVIDIA RTX A6000', 'error', 'Something went wrong']]);
  });

  it('drops a key the answer leaves out as malformed, not as an unknown GPU', async () => {
    sim.fault(raw({ data: { k1: A5000_ANSWER } }));
    const snapshot = await client.snapshot(KEYS);
    expect(snapshot.dropped.map((d) => [d.key.gpuTypeId, d.reason, d.detail])).toEqual([['NVIDIA RTX A6000', 'malformed', 'the answer has no "k0"']]);
  });
});

describe('the pod list refuses the key only when RunPod says so', () => {
  it('a null account with no error is a malformed answer, not an auth refusal', async () => {
    sim.fault({ kind: 'nulls', op: 'myself', times: EVERY_ATTEMPT });
    await expect(client.listPods()).rejects.toMatchObject({ kind: 'transient', message: 'listPods: malformed answer: no account (myself is null) and no error' });
  });

  it.each([
    { says: 'an error naming it', fault: { kind: 'graphqlError', message: 'Unauthorized', op: 'myself' } },
    { says: 'HTTP 401', fault: { kind: 'status', status: 401, op: 'myself' } },
    { says: 'HTTP 403', fault: { kind: 'status', status: 403, op: 'myself' } },
  ] as { says: string; fault: FaultInput }[])('is an auth refusal when RunPod says so with $says', async ({ fault }) => {
    sim.fault(fault);
    await expect(client.listPods()).rejects.toMatchObject({ kind: 'auth' });
  });
});
