import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/commands/program.js';
import { openStore } from '../../src/store/store.js';
import { testIo } from '../helpers/capture.js';
import { KEY_A, KEY_B } from '../helpers/offers.js';
import { recordScript } from '../helpers/scripted-history.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MONDAY = Date.UTC(2026, 0, 5);

let db: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-insights-'));
  db = join(dir, 'h.db');
  const store = openStore(db);
  // KEY_A: High every weekday 09:00-12:00 UTC, else None; KEY_B: Low all the time, for two weeks.
  recordScript(store, KEY_A, MONDAY, MONDAY + 14 * DAY, 5 * MIN, (t) => {
    const weekday = Math.floor((t - MONDAY) / DAY) % 7 < 5;
    const hour = new Date(t).getUTCHours();
    return weekday && hour >= 9 && hour < 12 ? { stock: 'High', price: 0.79 } : { stock: 'None', price: 0.79 };
  });
  store.close();
  const other = openStore(db);
  recordScript(other, KEY_B, MONDAY, MONDAY + DAY, 5 * MIN, () => ({ stock: 'Low', price: 0.36 }));
  other.close();
});

const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> => {
  const io = testIo({ GPU_WATCHER_CONFIG: '', ...env });
  const code = await runCli(args, io);
  return { code, out: io.out.text(), err: io.err.text() };
};

describe('gpu-watcher insights', () => {
  it('--json: the grid in the zone asked for, the lengths, and a plain note on what is too short', async () => {
    const { code, out } = await run(['insights', '--db', db, '--since', '2026-01-05', '--tz', 'Asia/Tokyo', '--json']);
    expect(code).toBe(0);
    const document = JSON.parse(out);
    expect(document.timeZone).toBe('Asia/Tokyo');
    expect(document.keys.map((k: { keyId: string }) => k.keyId)).toEqual(['NVIDIA RTX A5000|2|ALL', 'NVIDIA RTX A6000|1|SECURE']);
    const a6000 = document.keys[1];
    // 09:00-12:00 UTC is 18:00-21:00 in Tokyo (+09:00, no summer time), two weeks of it.
    expect(a6000.hourOfWeek.deployableHours[0].slice(17, 22)).toEqual([0, 2, 2, 2, 0]);
    expect(a6000.hourOfWeek.deployableHours[5].slice(17, 22)).toEqual([0, 0, 0, 0, 0]);
    expect(a6000.stretches).toEqual({ count: 10, censored: 0, p50Ms: 3 * HOUR, p90Ms: 3 * HOUR });
    expect(a6000.deployableFrom).toBe('watch');
    expect(a6000.now).toBeNull(); // the last poll was long ago
    const a5000 = document.keys[0];
    expect(a5000.deployableShare).toBe(1);
    expect(a5000.notes).toContain('only 1d recorded: the hour-of-week grid has not seen every hour of the week yet');
    expect(a5000.notes).toContain('only 0 whole outage(s) recorded, at least 5 are needed: outage lengths and back-within chances are not given');
    expect(a5000.outages.p50Ms).toBeNull();
  });

  it("judges a key a rule watches at the rule's minStock", async () => {
    const config = join(dir, 'watcher.yaml');
    await writeFile(
      config,
      [
        `store: { path: ${db} }`,
        'rules:',
        '  - name: trainer',
        '    gpuCount: 2',
        '    minStock: Medium',
        '    candidates: [{ gpu: NVIDIA RTX A5000, maxPrice: 0.5 }]',
        '    pod: { imageName: runpod/pytorch }',
        '',
      ].join('\n'),
    );
    const { code, out, err } = await run(['insights', '-c', config, '--since', '2026-01-05', '--gpu', 'NVIDIA RTX A5000', '--json', '--tz', 'UTC']);
    expect(code, err).toBe(0);
    const [a5000] = JSON.parse(out).keys;
    expect([a5000.deployableAt, a5000.deployableFrom, a5000.deployableShare, a5000.stockShare.Low]).toEqual(['Medium', 'rule trainer', 0, 1]);
  });

  it('prints a block per key with the grid for people', async () => {
    const { code, out } = await run(['insights', '--db', db, '--since', '2026-01-05', '--tz', 'UTC', '--gpu', 'NVIDIA RTX A6000']);
    expect(code).toBe(0);
    expect(out).toContain('NVIDIA RTX A6000 ×1 SECURE (deployable at Low or more: watch)');
    expect(out).toContain('  deployable stretches: 10 whole, p50 3h, p90 3h');
    expect(out).toContain('  on-demand: p10 $0.79, p50 $0.79, p90 $0.79; first half p50 $0.79, second half $0.79 (+$0.00)');
    const monday = out.split('\n').find((line) => line.startsWith('    Mon'));
    expect(monday).toBe(`    Mon${'   0'.repeat(9)}${' 100'.repeat(3)}${'   0'.repeat(12)}`);
  });

  it('--format csv: a header of dotted names and a row per key', async () => {
    const { code, out } = await run(['insights', '--db', db, '--since', '2026-01-05', '--tz', 'UTC', '--format', 'csv']);
    expect(code).toBe(0);
    const [header, ...rows] = out.trimEnd().split('\n').map((line) => line.split(','));
    expect(rows).toHaveLength(2);
    const column = (name: string): string[] => rows.map((row) => row[(header ?? []).indexOf(name)] ?? 'missing');
    expect(column('keyId')).toEqual(['NVIDIA RTX A5000|2|ALL', 'NVIDIA RTX A6000|1|SECURE']);
    expect(column('stretches.p50Ms')).toEqual(['', String(3 * HOUR)]);
    expect(column('hourOfWeek.share.Mon.10')).toEqual(['1', '1']);
    expect(column('hourOfWeek.share.Sat.10')).toEqual(['', '0']);
  });

  it.each([
    [['--tz', 'Mars/Olympus'], {}, 'error: --tz: "Mars/Olympus" is not a time zone: give an IANA name such as UTC, Europe/Berlin or America/New_York\n'],
    [[], { TZ: 'Nowhere/Atall' }, 'error: TZ: "Nowhere/Atall" is not a time zone: give an IANA name such as UTC, Europe/Berlin or America/New_York\n'],
  ])('a zone that does not exist (%j %j) is refused with exit 78, naming where it came from', async (args, env, message) => {
    const { code, err } = await run(['insights', '--db', db, ...args], env);
    expect(code).toBe(78);
    expect(err).toBe(message);
  });
});

describe('gpu-watcher history --format csv', () => {
  it('gives each interval as a row, oldest first, and failed polls as gap rows', async () => {
    const gapDb = join(dir, 'gaps.db');
    const store = openStore(gapDb);
    recordScript(store, KEY_A, MONDAY, MONDAY + 20 * MIN, 5 * MIN, (t) => (t === MONDAY + 10 * MIN ? 'failed' : { stock: 'High', price: 0.79 }));
    store.close();
    const { code, out } = await run(['history', '--db', gapDb, '--since', '2026-01-05', '--format', 'csv']);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        'kind,gpuTypeId,gpuCount,cloud,filters,firstSeen,lastSeen,polls,stock,onDemandPrice,minBidPrice,availableGpuCounts,error',
        'interval,NVIDIA RTX A6000,1,SECURE,,2026-01-05T00:00:00.000Z,2026-01-05T00:05:00.000Z,2,High,0.79,,1 2,',
        'interval,NVIDIA RTX A6000,1,SECURE,,2026-01-05T00:15:00.000Z,2026-01-05T00:20:00.000Z,2,High,0.79,,1 2,',
        'gap,,,,,2026-01-05T00:10:00.000Z,2026-01-05T00:10:00.000Z,1,,,,,transient: HTTP 502',
        '',
      ].join('\n'),
    );
  });
});
