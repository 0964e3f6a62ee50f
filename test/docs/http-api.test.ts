import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { daemonFor } from '../helpers/daemon.js';
import { testMarket } from '../helpers/market.js';

const DOC = readFileSync(new URL('../../docs/http-api.md', import.meta.url), 'utf8');

/** The field names in the first column of the `/api/status` table, e.g. `rules[]`, `api.down`. */
function documentedFields(): string[] {
  const section = DOC.slice(DOC.indexOf('## `GET /api/status`'), DOC.indexOf('## `GET /api/history`'));
  return [...section.matchAll(/^\| (`.+?) \|/gm)].flatMap((row) => [...(row[1] ?? '').matchAll(/`([^`]+)`/g)].map((name) => (name[1] ?? '').replace('[]', '')));
}

let sim: RunpodSimulator;
beforeEach(async () => {
  sim = await RunpodSimulator.start(testMarket());
});
afterEach(async () => {
  await sim.close();
});

describe('docs/http-api.md', () => {
  it("names every field of /api/status's document, and no other", async () => {
    const d = daemonFor(sim, 'watch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\n');
    await d.watcher.tick();
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const status = JSON.parse((await handler({ method: 'GET', url: '/api/status', headers: {} })).body) as Record<string, unknown>;
    d.store.close();
    const fields = documentedFields();
    expect([...new Set(fields.map((f) => f.split('.')[0]))].sort()).toEqual(Object.keys(status).sort());
    for (const dotted of fields.filter((f) => f.includes('.'))) {
      const [top = '', key = ''] = dotted.split('.');
      expect(Object.keys(status[top] as object), dotted).toContain(key);
    }
  });

  it("shows /api/history's answer in the shape REST v2 polls give it, data centers included", async () => {
    const d = daemonFor(sim, 'api: { source: rest }\nwatch: [{ gpu: NVIDIA RTX A6000, cloud: SECURE }]\n');
    await d.watcher.tick();
    const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
    const history = JSON.parse((await handler({ method: 'GET', url: '/api/history', headers: {} })).body);
    d.store.close();
    const section = DOC.slice(DOC.indexOf('## `GET /api/history`'));
    const example = JSON.parse(section.slice(section.indexOf('```json') + 7, section.indexOf('```', section.indexOf('```json') + 7)));
    const shape = (o: any) => [Object.keys(o).sort(), Object.keys(o.intervals[0]).sort(), Object.keys(o.dataCenters[0]).sort(), Object.keys(o.dataCenters[0].intervals[0]).sort()];
    expect(shape(example)).toEqual(shape(history));
  });
});
