import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file the dashboard needs, read once at start: no CDN, everything served from here. */
export interface Asset {
  contentType: string;
  body: string;
}

// web/ sits beside src/ and dist/ (both two levels up from this file).
const WEB = fileURLToPath(new URL('../../web/', import.meta.url));
const require = createRequire(import.meta.url);
const UPLOT = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));

/** The dashboard page and its assets, by URL path. */
export function loadDashboardAssets(): Map<string, Asset> {
  const read = (path: string): string => readFileSync(path, 'utf8');
  return new Map([
    ['/', { contentType: 'text/html; charset=utf-8', body: read(join(WEB, 'dashboard.html')) }],
    ['/assets/dashboard.js', { contentType: 'text/javascript; charset=utf-8', body: read(join(WEB, 'dashboard.js')) }],
    ['/assets/dashboard.css', { contentType: 'text/css; charset=utf-8', body: read(join(WEB, 'dashboard.css')) }],
    ['/assets/uplot.iife.min.js', { contentType: 'text/javascript; charset=utf-8', body: read(join(UPLOT, 'uPlot.iife.min.js')) }],
    ['/assets/uplot.min.css', { contentType: 'text/css; charset=utf-8', body: read(join(UPLOT, 'uPlot.min.css')) }],
  ]);
}
