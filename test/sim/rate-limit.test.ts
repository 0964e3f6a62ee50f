import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const auth = { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' };
const graphql = (s: RunpodSimulator): Promise<Response> => fetch(s.url, { method: 'POST', headers: auth, body: JSON.stringify({ query: '{ myself { id } }' }) });
const rest = (s: RunpodSimulator): Promise<Response> => fetch(`${s.restUrl}/pods`, { headers: auth });

describe("the scenario's rateLimit", () => {
  it('counts GraphQL and REST v2 together on the simulator clock, tells RateLimit fields, and answers 429 with Retry-After past the limit', async () => {
    const clock = new FakeClock();
    sim = await RunpodSimulator.start(testMarket({ rateLimit: { perMinute: 3 } }), { clock });
    const first = await graphql(sim);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit')).toBe('"minute";r=2;t=60');
    expect(first.headers.get('ratelimit-policy')).toBe('"minute";q=3;w=60');
    clock.advance(20_000);
    expect((await rest(sim)).headers.get('ratelimit')).toBe('"minute";r=1;t=40');
    expect((await graphql(sim)).headers.get('ratelimit')).toBe('"minute";r=0;t=40');

    const refused = await rest(sim);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('40');
    const refusedGraphql = await graphql(sim);
    expect(refusedGraphql.status).toBe(429);
    expect(((await refusedGraphql.json()) as { errors: { message: string }[] }).errors[0]?.message).toContain('rate limit exceeded');

    // The window is the simulator clock's, not the wall's.
    clock.advance(40_000);
    expect((await graphql(sim)).status).toBe(200);
    expect(sim.requests.map((r) => r.clockAt - clock.now())).toEqual([-60_000, -40_000, -40_000, -40_000, -40_000, 0]);
  });
});
