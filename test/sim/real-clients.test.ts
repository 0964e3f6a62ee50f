import { afterEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { TEST_KEY, testMarket } from '../helpers/market.js';

// The queries RunPod's own CLI, SDK, console and docs send, as a user's script would send them:
// each must validate against the simulator's schema and get sensible values back.

let sim: RunpodSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function gql(query: string, variables: Record<string, unknown> = {}, key: string | undefined = TEST_KEY): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const res = await fetch(sim!.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: res.status, json: await res.json() };
}

const A6000 = 'NVIDIA RTX A6000';

describe('the catalog as real clients read it, without a key', () => {
  it("the console's query: list, spot and savings-plan prices, with a nullable filter and null compliance", async () => {
    sim = await RunpodSimulator.start(testMarket());
    const query = `query SecureGpuTypes($lowestPriceInput: GpuLowestPriceInput, $gpuTypesInput: GpuTypeFilter) {
      gpuTypes(input: $gpuTypesInput) {
        lowestPrice(input: $lowestPriceInput) { minimumBidPrice uninterruptablePrice minVcpu minMemory stockStatus compliance maxUnreservedGpuCount availableGpuCounts }
        id displayName memoryInGb securePrice communityPrice oneMonthPrice oneWeekPrice threeMonthPrice sixMonthPrice secureSpotPrice
      } }`;
    const variables = {
      gpuTypesInput: { id: A6000 },
      lowestPriceInput: { gpuCount: 2, minDisk: 0, minMemoryInGb: 8, minVcpuCount: 2, secureCloud: true, compliance: null, globalNetwork: false },
    };
    const { status, json } = await gql(query, variables, undefined);
    expect(status).toBe(200);
    expect(json).toEqual({
      data: {
        gpuTypes: [
          {
            lowestPrice: { minimumBidPrice: 0.41, uninterruptablePrice: 0.79, minVcpu: 16, minMemory: 124, stockStatus: 'High', compliance: [], maxUnreservedGpuCount: 4, availableGpuCounts: [1, 2, 4] },
            id: A6000,
            displayName: 'RTX A6000',
            memoryInGb: 48,
            securePrice: 0.79,
            communityPrice: 0.49,
            oneMonthPrice: 0.71,
            oneWeekPrice: 0.75,
            threeMonthPrice: 0.67,
            sixMonthPrice: 0.63,
            secureSpotPrice: 0.41,
          },
        ],
      },
    });
  });

  it("a catalog crawler's first query: countries, data centers and every GPU type's limits and prices", async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { status, json } = await gql(
      `query GpuTypes { countryCodes dataCenters { id name listed } gpuTypes { id maxGpuCount maxGpuCountSecureCloud maxGpuCountCommunityCloud minPodGpuCount
        manufacturer secureCloud communityCloud securePrice communityPrice clusterPrice communitySpotPrice oneYearPrice } }`,
      {},
      undefined,
    );
    expect(status).toBe(200);
    expect(json.data.countryCodes).toEqual(['CA', 'NL', 'RO', 'SE', 'US']);
    expect(json.data.dataCenters).toContainEqual({ id: 'US-KS-2', name: 'US Kansas 2', listed: true });
    expect(json.data.dataCenters.filter((dc: { listed: boolean }) => !dc.listed).map((dc: { id: string }) => dc.id)).toEqual(['EU-NL-9']);
    expect(json.data.gpuTypes.find((g: { id: string }) => g.id === A6000)).toEqual({
      id: A6000,
      maxGpuCount: 4,
      maxGpuCountSecureCloud: 4,
      maxGpuCountCommunityCloud: 2,
      minPodGpuCount: 1,
      manufacturer: 'NVIDIA',
      secureCloud: true,
      communityCloud: true,
      securePrice: 0.79,
      communityPrice: 0.49,
      clusterPrice: null,
      communitySpotPrice: 0.25,
      oneYearPrice: 0.59,
    });
  });

  it("per-data-center stock (the CLI's datacenter list) agrees with lowestPrice asked per data center", async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { json } = await gql('{ dataCenters { id location gpuAvailability { gpuTypeId displayName stockStatus available } } }', {}, undefined);
    const a6000 = json.data.dataCenters.map((dc: any) => [dc.id, dc.gpuAvailability.find((g: any) => g.gpuTypeId === A6000)?.stockStatus ?? 'absent']);
    // The offer's own word (High) holds in one data center and falls a step in each next one; none in the unlisted one.
    expect(a6000.map(([, stock]: string[]) => stock).sort()).toEqual(['High', 'Low', 'Medium', 'None', 'absent']);
    expect(Object.fromEntries(a6000)['EU-NL-9']).toBe('absent');
    for (const [dataCenterId, stock] of a6000) {
      const lowest = await gql('query($g: GpuTypeFilter, $p: GpuLowestPriceInput) { gpuTypes(input: $g) { lowestPrice(input: $p) { stockStatus } } }', {
        g: { id: A6000 },
        p: { gpuCount: 1, secureCloud: true, dataCenterId },
      });
      expect([dataCenterId, lowest.json.data.gpuTypes[0].lowestPrice?.stockStatus ?? 'absent']).toEqual([dataCenterId, stock]);
    }
    const sold = json.data.dataCenters[0].gpuAvailability.find((g: any) => g.gpuTypeId === 'NVIDIA H100 80GB HBM3');
    expect(sold).toEqual({ gpuTypeId: 'NVIDIA H100 80GB HBM3', displayName: 'H100 SXM', stockStatus: null, available: false });
    const counted = await gql('{ dataCenters { gpuAvailability(input: {gpuCount: 8, secureCloud: true}) { gpuTypeId available } } }', {}, undefined);
    expect(counted.json.data.dataCenters.flatMap((dc: any) => dc.gpuAvailability).filter((g: any) => g.available)).toEqual([]);
  });
});

describe('pods as real clients read and change them', () => {
  const CREATE = `mutation createPod($input: PodFindAndDeployOnDemandInput) {
    podFindAndDeployOnDemand(input: $input) { id costPerHr desiredStatus lastStatusChange imageName env machineId machine { podHostId dataCenterId location } } }`;
  const LIST = `query { myself { pods { id name desiredStatus uptimeSeconds dockerId port ports lastStartedAt gpus { id podId }
    runtime { uptimeInSeconds ports { ip isIpPublic privatePort publicPort type } gpus { id gpuUtilPercent memoryUtilPercent } container { cpuPercent memoryPercent } } } } }`;

  it('deploys through a nullable $input, then shows uptime, ports and GPUs from the runtime until it stops', async () => {
    const clock = new FakeClock();
    sim = await RunpodSimulator.start(testMarket(), { clock });
    const input = { gpuTypeId: A6000, gpuCount: 2, cloudType: 'SECURE', dataCenterId: 'EU-RO-1', name: 'nb', imageName: 'runpod/pytorch', ports: '8888/http,22/tcp', port: 8888, env: [{ key: 'JUPYTER_PASSWORD', value: 'pw' }] };
    const created = await gql(CREATE, { input });
    expect(created.status).toBe(200);
    const pod = created.json.data.podFindAndDeployOnDemand;
    expect(pod).toMatchObject({ costPerHr: 1.58, desiredStatus: 'RUNNING', imageName: 'runpod/pytorch', env: ['JUPYTER_PASSWORD=pw'], machine: { dataCenterId: 'EU-RO-1', location: 'Romania' } });
    expect(pod.lastStatusChange).toBe(`Rented by User: ${new Date(clock.now()).toUTCString()}`);
    expect(pod.machine.podHostId).toMatch(new RegExp(`^${pod.id}-\\d+$`));

    clock.advance(90_000);
    const [listed] = (await gql(LIST)).json.data.myself.pods;
    expect(listed).toMatchObject({ id: pod.id, uptimeSeconds: 90, port: '8888', ports: '8888/http,22/tcp', lastStartedAt: new Date(clock.now() - 90_000).toISOString() });
    expect(listed.dockerId).toMatch(/^[0-9a-f]{12}$/);
    expect(listed.gpus).toHaveLength(2);
    expect(listed.runtime.uptimeInSeconds).toBe(90);
    expect(listed.runtime.gpus.map((g: { id: string }) => g.id)).toEqual(listed.gpus.map((g: { id: string }) => g.id));
    expect(listed.runtime.container).toEqual({ cpuPercent: 0, memoryPercent: 0 });
    const [http, tcp] = listed.runtime.ports;
    expect(http).toMatchObject({ isIpPublic: false, privatePort: 8888, publicPort: 8888, type: 'http' });
    expect(tcp).toMatchObject({ isIpPublic: true, privatePort: 22, type: 'tcp' });
    expect(tcp.ip).toMatch(/^203\.0\.113\.\d+$/);

    const stop = await gql('mutation stopPod($podId: String!) { podStop(input: {podId: $podId}) { id desiredStatus } }', { podId: pod.id });
    expect(stop.json.data.podStop).toEqual({ id: pod.id, desiredStatus: 'EXITED' });
    const [stopped] = (await gql(LIST)).json.data.myself.pods;
    expect([stopped.uptimeSeconds, stopped.runtime]).toEqual([0, null]);
  });

  it('refuses a deploy to a data center without stock for it, as RunPod does', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const { json } = await gql('{ dataCenters { id gpuAvailability { gpuTypeId available } } }');
    const empty = json.data.dataCenters.find((dc: any) => dc.gpuAvailability.some((g: any) => g.gpuTypeId === A6000 && !g.available));
    const refused = await gql(CREATE, { input: { gpuTypeId: A6000, gpuCount: 1, cloudType: 'SECURE', dataCenterId: empty.id, imageName: 'i' } });
    expect(refused.json.errors[0]).toMatchObject({ message: 'There are no longer any instances available with the requested specifications. Please refresh and try again.', extensions: { code: 'SUPPLY_CONSTRAINT' } });
  });

  it('takes mutations whose $input is declared nullable or non-null alike, and a null input is refused by the resolver, not the schema', async () => {
    sim = await RunpodSimulator.start(testMarket());
    const pod = sim.market.addExistingPod({ name: 'p', desiredStatus: 'RUNNING', imageName: 'i', costPerHr: 0.79, gpuCount: 1, gpuTypeId: A6000, cloud: 'SECURE', podType: 'RESERVED', env: [] });
    const nullable = await gql('mutation($input: PodStopInput) { podStop(input: $input) { desiredStatus } }', { input: { podId: pod.id } });
    expect(nullable.json).toEqual({ data: { podStop: { desiredStatus: 'EXITED' } } });
    const nonNull = await gql('mutation($input: PodResumeInput!) { podResume(input: $input) { desiredStatus } }', { input: { podId: pod.id, gpuCount: 1 } });
    expect(nonNull.json).toEqual({ data: { podResume: { desiredStatus: 'RUNNING' } } });
    const missing = await gql('mutation($input: PodTerminateInput) { podTerminate(input: $input) }', { input: null });
    expect([missing.status, missing.json.errors[0].message]).toEqual([200, 'Pod not found']);
    const terminate = await gql('mutation terminatePod($podId: String!) { podTerminate(input: {podId: $podId}) }', { podId: pod.id });
    expect(terminate.json).toEqual({ data: { podTerminate: 'ok' } });
  });
});
