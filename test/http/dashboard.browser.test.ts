import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDashboardAssets } from '../../src/http/assets.js';
import { createHandler, startHttpServer } from '../../src/http/server.js';
import { RunpodSimulator } from '../../src/sim/server.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { daemonFor } from '../helpers/daemon.js';
import { capturedLogger } from '../helpers/capture.js';
import { testMarket } from '../helpers/market.js';
import { keyLabel } from '../../src/runpod/types.js';

// Debian's chromium, which .ci/run installs with apt-get; never a downloaded browser build.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Run in the page (this project's TypeScript has no DOM types): the page's scroll width and the viewport's.
const PAGE_WIDTHS = '[document.documentElement.scrollWidth, window.innerWidth]';
/** Run in the page: whether every chart's time axis spans `seconds`. */
const windowShown = (seconds: number): string =>
  `[...document.querySelectorAll('.chart')].every((n) => Number(n.getAttribute('data-x-max')) - Number(n.getAttribute('data-x-min')) === ${seconds})`;

let sim: RunpodSimulator;
let browser: Browser;
let server: { url: string; close: () => Promise<void> };
let expectedPoints: Map<string, number>;
let snapshotSize: number;
let recordedKeys: string[];
let nowS: number;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser test needs Debian's chromium at ${CHROMIUM}: apt-get install --no-install-recommends chromium`);
  // One clock for both, so the pod's spend is the simulator's bill.
  const clock = new FakeClock();
  sim = await RunpodSimulator.start(testMarket(), { clock });
  const d = daemonFor(
    sim,
    `
http: {}
notifiers: { ops: { type: webhook, url: "http://127.0.0.1:9/hook" } }
watch: [{ gpu: NVIDIA RTX A5000, cloud: SECURE }, { gpu: NVIDIA H100 80GB HBM3, cloud: SECURE }]
alerts: [{ name: h100-back, gpu: NVIDIA H100 80GB HBM3, cloud: SECURE, when: { stockAtLeast: Low }, notify: [ops] }]
rules:
  - { name: trainer, cloud: SECURE, spot: never, candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }], pod: { imageName: i }, notify: [ops] }
`,
    { clock },
  );
  // The A6000's fleet: 34 of 40 rented, then 35 (within one band: one fleet interval, 34–35).
  sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', rented: 34, total: 40 });
  const timeline: [string, string | null, number | null][][] = [
    [],
    [['NVIDIA RTX A5000', 'Medium', 0.34]],
    [],
    [['NVIDIA H100 80GB HBM3', 'Low', 2.99]],
    [['NVIDIA RTX A6000', 'None', 0.79]],
    [],
    [['NVIDIA RTX A6000', 'High', 0.77]],
  ];
  for (const [index, changes] of timeline.entries()) {
    for (const [gpu, stock, price] of changes) sim.market.set({ gpu, cloud: 'SECURE', stock, price });
    if (index === 2) sim.market.set({ gpu: 'NVIDIA RTX A6000', cloud: 'SECURE', rented: 35 });
    await d.watcher.tick();
    d.clock.advance(30_000);
  }
  // The A6000 pod deployed at the first step has run 7 x 30 s at $0.79/hr when this cycle sees it.
  await d.watcher.tick();
  // An alert that flapped: four of its events in a row, newest last, which the page folds into one line.
  for (const [index, type] of (['alert.fired', 'alert.resolved', 'alert.fired', 'alert.resolved'] as const).entries()) {
    const at = new Date(d.clock.now() + (index + 1) * 1_000).toISOString();
    d.store.outbox.append({ id: `evt_flap${index}`, type, time: at, dryRun: false, summary: `a5000-flaps: NVIDIA RTX A5000 x1 SECURE ${type === 'alert.fired' ? 'now matches' : 'no longer matches'}`, alert: 'a5000-flaps' }, []);
  }
  nowS = d.clock.now() / 1000;
  const handler = createHandler({ daemon: d, config: d.config, clock: d.clock, dryRun: false, periodMs: 30_000, assets: loadDashboardAssets() });
  server = await startHttpServer('127.0.0.1:0', handler, capturedLogger().logger);
  expectedPoints = new Map();
  for (const i of d.store.history.intervals({ since: d.clock.now() - 86_400_000 })) {
    const id = keyLabel(i.key);
    expectedPoints.set(id, (expectedPoints.get(id) ?? 0) + (i.lastSeen > i.firstSeen ? 2 : 1));
  }
  snapshotSize = d.watcher.lastSnapshot?.offers.length ?? 0;
  recordedKeys = d.store.history.keys().map((k) => `${k.gpuTypeId}|${k.gpuCount}|${k.cloud}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sim?.close();
});

describe('the dashboard in a real browser', () => {
  it('loads against a watcher fed by the simulator, draws every chart with its points, shows the snapshot, rules, alerts, pods and events, without console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });

    const charts = await page.$$eval('.chart', (nodes) => nodes.map((n) => [n.getAttribute('data-key'), Number(n.getAttribute('data-points')), n.querySelectorAll('canvas').length] as const));
    expect(charts.map(([key, points]) => [key, points])).toEqual([...expectedPoints].map(([key, points]) => [key, points]));
    for (const [, , canvases] of charts) expect(canvases).toBeGreaterThan(0);

    const snapshotRows = await page.$$eval('#snapshot tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(snapshotRows).toHaveLength(snapshotSize);
    expect(snapshotRows).toContainEqual(['NVIDIA RTX A6000', '1', 'SECURE', 'High', '35 of 40 rented', '$0.77', '$0.41', '1, 2, 4']);
    expect(snapshotRows).toContainEqual(['NVIDIA RTX A5000', '1', 'SECURE', 'Medium', '–', '$0.34', '$0.20', '1']);
    const titles = await page.$$eval('.chart h3', (nodes) => nodes.map((n) => n.textContent));
    expect(titles).toContain('NVIDIA RTX A6000 ×1 SECURE · 34–35 of 40 rented');
    expect(await page.textContent('#rules tbody')).toContain('trainer');
    expect(await page.textContent('#alerts tbody')).toContain('firing');
    expect(await page.textContent('#pods tbody')).toContain('trainer');
    expect(await page.textContent('#spend')).toBe('Spent $0.046 today, $0.046 this month (UTC), $0.046 in all');
    const ruleRow = await page.$$eval('#rules tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(ruleRow[0]?.slice(0, 4)).toEqual(['trainer', '1 / 1', '1', '$0.046']);
    const podRow = await page.$$eval('#pods tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    expect(podRow[0]?.slice(3)).toEqual(['$0.79', '$0.046', 'trainer']);
    expect(await page.textContent('#events')).toContain('pod.deployed');
    expect(await page.textContent('#health')).toBe('RunPod GraphQL ok');

    // The insights: a heatmap per recorded key (7 weekdays of 24 hours) and its back-within line.
    const insights = await page.$$eval('.insight', (nodes) =>
      nodes.map((n) => [n.getAttribute('data-key'), n.querySelectorAll('table.heatmap tr').length, n.querySelectorAll('table.heatmap td[title]').length, n.querySelector('.back-within')?.textContent] as const),
    );
    expect(insights.map(([key]) => key)).toEqual(recordedKeys);
    for (const [, rows, cells, line] of insights) {
      expect([rows, cells]).toEqual([8, 7 * 24]);
      expect(line).toMatch(/back within: too few outages to judge \(\d+\)$/);
    }

    // The flapping alert is one line with its count, the other events one line each.
    const flapping = await page.$$eval('#events li.flapping', (nodes) => nodes.map((n) => [n.getAttribute('data-count'), n.textContent] as const));
    expect(flapping).toHaveLength(1);
    expect(flapping[0]?.[0]).toBe('4');
    expect(flapping[0]?.[1]).toMatch(/a5000-flaps flapping.*fired 2×, resolved 2× since .*; latest alert\.resolved: a5000-flaps: NVIDIA RTX A5000 x1 SECURE no longer matches/);
    expect(await page.textContent('#events')).not.toContain('evt_flap');

    // The rules and pods cards span the page's width, as the market's does.
    const widths = await page.$$eval('.card', (cards) => ['#snapshot', '#rules', '#pods', '#alerts'].map((s) => cards.find((c) => c.querySelector(s))?.getBoundingClientRect().width ?? 0));
    expect(widths[1]).toBe(widths[0]);
    expect(widths[2]).toBe(widths[0]);
    expect(widths[3]).toBeLessThan((widths[0] ?? 0) * 0.6);

    // The time axis is the selected window, ending at the server's now, whatever part has data.
    const xSpan = () => page.$$eval('.chart', (nodes) => nodes.map((n) => [Number(n.getAttribute('data-x-min')), Number(n.getAttribute('data-x-max'))] as const));
    for (const [min, max] of await xSpan()) expect([min, max]).toEqual([nowS - 86_400, nowS]);
    for (const [choice, seconds] of [['6h', 6 * 3600], ['7d', 7 * 86_400]] as const) {
      await page.selectOption('#range', choice);
      await page.waitForFunction(windowShown(seconds));
      for (const [min, max] of await xSpan()) expect([min, max]).toEqual([nowS - seconds, nowS]);
    }
    await page.selectOption('#range', '24h');
    await page.waitForFunction(windowShown(86_400));

    expect(await page.evaluate(PAGE_WIDTHS)).toEqual([1280, 1280]);
    mkdirSync('reports', { recursive: true });
    await page.screenshot({ path: 'reports/dashboard.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('at 400 px: no sideways scroll, the tables collapse into labelled lines, every chart and heatmap fits', async () => {
    const page = await browser.newPage({ viewport: { width: 400, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
    expect(await page.evaluate(PAGE_WIDTHS)).toEqual([400, 400]);
    // Nothing inside a card is wider than the card either (a table or chart scrolling on its own).
    const overflowing = await page.$$eval('.card', (cards) => cards.filter((c) => c.scrollWidth > c.clientWidth).map((c) => c.querySelector('h2')?.textContent));
    expect(overflowing).toEqual([]);
    expect(await page.evaluate("getComputedStyle(document.querySelector('#rules thead')).display")).toBe('none');
    const podLines = (await page.evaluate(
      "[...document.querySelectorAll('#pods tbody tr:first-child td')].map((td) => [getComputedStyle(td).display, td.getAttribute('data-label'), getComputedStyle(td, '::before').content])",
    )) as [string, string, string][];
    expect(podLines.map(([display]) => display)).toEqual(Array(6).fill('block'));
    expect(podLines.map(([, label]) => label)).toEqual(['Pod', 'GPU', 'Kind', '$/hr', 'Spent', 'Rule']);
    expect(podLines[0]?.[2]).toBe('"Pod"');
    expect(await page.$$eval('.chart canvas', (nodes) => nodes.every((n) => n.getBoundingClientRect().right <= 400))).toBe(true);
    mkdirSync('reports', { recursive: true });
    await page.screenshot({ path: 'reports/dashboard-400.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
