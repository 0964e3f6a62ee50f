import { afterEach, describe, expect, it } from 'vitest';
import { RunpodGraphqlClient } from '../../src/runpod/graphql/client.js';
import type { OnDemandDeploy, RunpodApi } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';
import { bodyOf, restClientFor } from '../helpers/rest.js';

// The simulator's pod life (start-up, failure, GPU utilisation over time, RunPod's own stopAfter /
// terminateAfter) as both clients read it, and terminatePod through both.

const A6000 = 'NVIDIA RTX A6000';
const A5000 = 'NVIDIA RTX A5000';
const deploy = (gpuTypeId: string, extra: Partial<OnDemandDeploy> = {}): OnDemandDeploy => ({
  spec: { imageName: 'runpod/pytorch', ports: '8888/http,22/tcp' },
  gpuTypeId,
  gpuCount: 1,
  cloud: 'SECURE',
  deployCost: 1,
  ...extra,
});

let sim: RunpodSimulator;
let clock: FakeClock;
afterEach(async () => {
  await sim.close();
});

async function start(): Promise<{ graphql: RunpodApi; rest: RunpodApi }> {
  clock = new FakeClock();
  sim = await RunpodSimulator.start(testMarket(), { clock });
  return {
    graphql: new RunpodGraphqlClient({ url: sim.url, apiKey: TEST_KEY, timeoutMs: 2_000, clock }),
    rest: restClientFor(sim, { clock }),
  };
}

describe('the simulator’s pod life', () => {
  it('a pod comes up after its startIn: no runtime before, then uptime, mapped ports and GPU utilisation; idle after busyFor', async () => {
    const { graphql, rest } = await start();
    sim.market.setPodLife(A6000, { startIn: 90_000, gpuUtil: 85, busyFor: 3_600_000 });
    const pod = await graphql.deployOnDemand(deploy(A6000));
    expect(pod.runtime).toBeNull();
    clock.advance(60_000);
    expect((await graphql.getPod(pod.id))?.runtime).toBeNull();
    expect((await rest.getPod(pod.id))?.desiredStatus).toBe('STARTING');

    clock.advance(40_000);
    const up = await graphql.getPod(pod.id);
    expect(up?.runtime?.uptimeSeconds).toBe(10);
    expect(up?.runtime?.gpuUtilPercent).toEqual([85]);
    expect(up?.runtime?.ports.map((p) => [p.privatePort, p.type, p.isIpPublic])).toEqual([
      [8888, 'http', false],
      [22, 'tcp', true],
    ]);
    const v2 = await rest.getPod(pod.id);
    expect(v2?.desiredStatus).toBe('RUNNING');
    // v2 maps HTTP ports without an address (they are reached through the proxy); TCP ones alike.
    expect(v2?.runtime).toMatchObject({ uptimeSeconds: 10, gpuUtilPercent: [85], ports: [{ privatePort: 8888, publicPort: null }, up?.runtime?.ports[1]] });

    clock.advance(3_600_000);
    expect((await graphql.listPods())[0]?.runtime?.gpuUtilPercent).toEqual([0]);
  });

  it('failure never: RUNNING without a runtime for good; failure error: REST v2 shows ERROR', async () => {
    const { graphql, rest } = await start();
    sim.market.setPodLife(A6000, { startIn: 30_000, failure: 'never' });
    sim.market.setPodLife(A5000, { startIn: 30_000, failure: 'error' });
    const stuck = await graphql.deployOnDemand(deploy(A6000));
    const failed = await graphql.deployOnDemand(deploy(A5000));
    clock.advance(24 * 3_600_000);
    expect(await graphql.getPod(stuck.id)).toMatchObject({ desiredStatus: 'RUNNING', runtime: null });
    expect(await rest.getPod(stuck.id)).toMatchObject({ desiredStatus: 'STARTING', runtime: null });
    expect(await graphql.getPod(failed.id)).toMatchObject({ desiredStatus: 'RUNNING', runtime: null });
    expect(await rest.getPod(failed.id)).toMatchObject({ desiredStatus: 'ERROR', runtime: null });
  });

  it('RunPod enforces a deploy’s stopAfter and terminateAfter by its own clock', async () => {
    const { graphql } = await start();
    const stopping = await graphql.deployOnDemand(deploy(A6000, { lifetime: { at: clock.now() + 3_600_000, action: 'stop' } }));
    const ending = await graphql.deployOnDemand(deploy(A6000, { lifetime: { at: clock.now() + 7_200_000, action: 'terminate' } }));
    const [first, second] = sim.requestsFor('podFindAndDeployOnDemand').map((r) => bodyOf(r).variables.input);
    expect(first.stopAfter).toBe(new Date(clock.now() + 3_600_000).toISOString());
    expect(second.terminateAfter).toBe(new Date(clock.now() + 7_200_000).toISOString());

    clock.advance(3_600_000);
    expect((await graphql.getPod(stopping.id))?.desiredStatus).toBe('EXITED');
    expect((await graphql.getPod(ending.id))?.desiredStatus).toBe('RUNNING');
    clock.advance(3_600_000);
    expect(await graphql.getPod(ending.id)).toBeNull();
  });

  it('terminatePod deletes a pod through either API; a second terminate is refused', async () => {
    const { graphql, rest } = await start();
    for (const api of [graphql, rest]) {
      const pod = await api.deployOnDemand(deploy(A6000));
      await api.terminatePod(pod.id);
      expect(await api.getPod(pod.id)).toBeNull();
      await expect(api.terminatePod(pod.id)).rejects.toMatchObject({ kind: expect.any(String) });
    }
    expect(sim.requestsFor('podTerminate')).toHaveLength(2);
    expect(sim.requestsFor('podAction').map((r) => bodyOf(r).action)).toEqual(['terminate', 'terminate']);
    expect(sim.rest.violations).toEqual([]);
  });
});
