import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

const DOC = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');

/** Each documented metric's type, from the doc's table rows: | `name` | type | ... */
const documented = new Map([...DOC.matchAll(/^\| `((?:gpuwatch|process|nodejs)_\w+)` \| (\w+) \|/gm)].map((match) => [match[1] ?? '', match[2] ?? '']));

/** Platform metrics prom-client adds by itself, under their standard names; which appear depends on the platform. */
const PROCESS = /^(process|nodejs)_/;

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

/** The `# TYPE` lines of what /metrics serves after a poll: every metric exposed, with its type. */
async function exposed(): Promise<Map<string, string>> {
  const d = daemonFor(sim, 'watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\n', { metrics: true });
  await d.watcher.tick();
  const text = (await d.metrics?.registry.metrics()) ?? '';
  d.store.close();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

describe('docs/metrics.md', () => {
  it('names every metric /metrics exposes, with its type', async () => {
    const metrics = await exposed();
    expect(metrics.size).toBeGreaterThan(10);
    const wrong = [...metrics].filter(([name, type]) => documented.get(name) !== type).map(([name, type]) => `${name} (${type})`);
    expect(wrong).toEqual([]);
  });

  it('documents none of the watcher’s own metrics that /metrics does not expose', async () => {
    const metrics = await exposed();
    expect([...documented.keys()].filter((name) => !PROCESS.test(name) && !metrics.has(name))).toEqual([]);
  });
});
