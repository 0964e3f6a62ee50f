import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { watchedKeys } from '../../src/config/watched-keys.js';
import { buildSnapshotQuery } from '../../src/runpod/graphql/snapshot-query.js';
import { keyId, keyLabel, normaliseFilters, type WatchKey } from '../../src/runpod/types.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { testMarket } from '../helpers/market.js';
import { restClientFor } from '../helpers/rest.js';

const A6000 = 'NVIDIA RTX A6000';
const plain: WatchKey = { gpuTypeId: A6000, gpuCount: 1, cloud: 'SECURE' };

describe('a watched key’s filters', () => {
  it('an unfiltered key keeps its id; a filtered one adds canonical filters, whatever order they came in', () => {
    expect(keyId(plain)).toBe(`${A6000}|1|SECURE`);
    expect(keyId({ ...plain, filters: normaliseFilters({}) })).toBe(`${A6000}|1|SECURE`);
    const a = normaliseFilters({ minDisk: 100, cudaVersions: ['12.8', '12.4', '12.8'], dataCenterId: 'EU-RO-1', supportPublicIp: true });
    const b = normaliseFilters({ dataCenterId: 'EU-RO-1', supportPublicIp: true, cudaVersions: ['12.4', '12.8'], minDisk: 100 });
    expect(keyId({ ...plain, filters: a })).toBe(`${A6000}|1|SECURE|cuda=12.4,12.8;dc=EU-RO-1;publicIp;disk=100`);
    expect(keyId({ ...plain, filters: b })).toBe(keyId({ ...plain, filters: a }));
    expect(normaliseFilters({ supportPublicIp: false, cudaVersions: [] })).toBeUndefined();
  });

  it('reads as a label people understand', () => {
    const filters = normaliseFilters({ cudaVersions: ['12.8'], dataCenterId: 'EU-RO-1', countryCode: 'RO', minVcpuCount: 16, minMemoryInGb: 64, supportPublicIp: true, minDisk: 200 });
    expect(keyLabel({ ...plain, filters })).toBe(`${A6000} ×1 SECURE · CUDA 12.8 · EU-RO-1 · country RO · ≥16 vCPU · ≥64 GB RAM · public IP · ≥200 GB disk`);
    expect(keyLabel(plain)).toBe(`${A6000} ×1 SECURE`);
  });

  it('rules whose pods ask for the same machine share one key, and so one alias in the snapshot query', () => {
    const config = parseConfig(
      `
watch: [{ gpu: ${A6000}, cloud: SECURE }]
rules:
  - { name: a, cloud: SECURE, candidates: [{ gpu: ${A6000}, maxPrice: 1 }], pod: { imageName: i, allowedCudaVersions: [12.8, "12.4"], dataCenterId: EU-RO-1 } }
  - { name: b, cloud: SECURE, candidates: [{ gpu: ${A6000}, maxPrice: 1 }], pod: { imageName: j, dataCenterId: EU-RO-1, allowedCudaVersions: ["12.4", "12.8"] } }
  - { name: c, cloud: SECURE, candidates: [{ gpu: ${A6000}, maxPrice: 1 }], pod: { imageName: k, minVcpuCount: 16 } }
`,
      'test.yaml',
      {},
    );
    const keys = watchedKeys(config);
    expect(keys.map((k) => [keyId(k.key), k.sources])).toEqual([
      [`${A6000}|1|SECURE`, ['watch']],
      [`${A6000}|1|SECURE|cuda=12.4,12.8;dc=EU-RO-1`, ['rule a', 'rule b']],
      [`${A6000}|1|SECURE|vcpu=16`, ['rule c']],
    ]);
    // Even handed the same key twice, the query asks for it once.
    const query = buildSnapshotQuery([...keys.map((k) => k.key), keys[1]?.key as WatchKey], true);
    expect(Object.keys(query.variables)).toEqual(['k0g', 'k0p', 'k1g', 'k1p', 'k2g', 'k2p']);
    expect(query.variables.k2p).toEqual({ gpuCount: 1, secureCloud: true, minVcpuCount: 16 });
  });

  it('refuses CUDA versions and country codes RunPod would not know, naming where', () => {
    expect(() =>
      parseConfig(`rules: [{ name: r, candidates: [{ gpu: ${A6000}, maxPrice: 1 }], pod: { imageName: i, allowedCudaVersions: [twelve], countryCode: Romania } }]`, 'test.yaml', {}),
    ).toThrow('rules[0].pod.allowedCudaVersions[0]: must be a CUDA version such as "12.8"\nrules[0].pod.countryCode: must be a two-letter country code such as "RO"');
  });
});

describe('filtered keys over REST v2', () => {
  let sim: RunpodSimulator;
  beforeEach(async () => {
    sim = await RunpodSimulator.start(testMarket());
  });
  afterEach(async () => {
    await sim.close();
  });

  it('drops a key filtering on what v2 cannot (vCPUs, memory, public IP, disk) as unsupported, and answers the rest', async () => {
    const client = restClientFor(sim);
    const vcpu: WatchKey = { ...plain, filters: { minVcpuCount: 16, minDisk: 50 } };
    const cuda: WatchKey = { ...plain, filters: { cudaVersions: ['12.8'] } };
    const snapshot = await client.snapshot([plain, vcpu, cuda]);
    expect(snapshot.offers.map((o) => keyId(o.key))).toEqual([keyId(plain), keyId(cuda)]);
    expect(snapshot.dropped).toEqual([{ key: vcpu, reason: 'unsupported', detail: 'RunPod REST v2 cannot filter stock by vCPUs, disk' }]);
    expect(sim.requestsFor('listGpuTypes').map((r) => decodeURIComponent(r.url))).toEqual([
      '/v2/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=SECURE',
      '/v2/catalog/gpus?include=AVAILABILITY&product=POD&count=1&cloud=SECURE&cudaVersions=12.8',
    ]);
  });
});
