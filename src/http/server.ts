import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { parseSince } from '../lib/duration.js';
import { isoTime } from '../lib/format.js';
import { dataCentersToJson } from '../store/dc-history.js';
import { fleetToJson } from '../store/fleet-history.js';
import { intervalToJson } from '../store/history.js';
import { buildInsights } from '../insights/document.js';
import { deployableFloors } from '../insights/floors.js';
import { timeZoneProblem } from '../insights/zone.js';
import type { StoreReader } from '../store/store.js';
import type { Logger } from '../lib/logger.js';
import { buildStatus } from '../status/build.js';
import { judgeHealth } from '../loop/api-health.js';
import type { Watcher } from '../loop/watcher.js';
import { hostChecker } from './host-check.js';
import type { Asset } from './assets.js';
import type { Metrics } from './metrics.js';
import type { ApiSource } from '../runpod/switching.js';

/** A request as the handler sees it: enough of node:http to route, no socket needed. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The parts of the running daemon the routes read; the composition root's daemon has them all. */
interface ServedDaemon {
  store: StoreReader;
  watcher: Pick<Watcher, 'apiHealth' | 'sinceSuccessMs' | 'stats' | 'lastSnapshot'>;
  auth: { readonly accepted: boolean };
  /** The RunPod API in use. */
  api: { readonly source: ApiSource };
  /** Present when the daemon was built with metrics. */
  metrics: Pick<Metrics, 'registry'> | undefined;
}

/** What the routes read from. */
export interface HttpDeps {
  /** The running daemon; built with `metrics: true` for /metrics to answer. */
  daemon: ServedDaemon;
  config: Config;
  clock: Clock;
  dryRun: boolean;
  /** Time between two polls on the schedule: /healthz fails after three of them without an answer. */
  periodMs: number;
  /** The dashboard page and its assets (`loadDashboardAssets`). */
  assets: ReadonlyMap<string, Asset>;
  /** Re-reads and applies the config file (`POST /api/reload`); absent where there is no file to read. */
  reload?: () => Promise<{ applied: true; summary: string } | { applied: false; problems: string[] }>;
}

const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * The HTTP routes: /healthz, /metrics, /api/status, /api/history, /api/insights, and the dashboard
 * at / with its assets, and `POST /api/reload`. A plain function from request to response, so routes
 * are tested without a socket. With `http.token` set, /api/* and /metrics need `Authorization: Bearer <token>`. Every route but
 * /healthz answers only requests whose Host names this server (`hostChecker`): 421 otherwise.
 */
export function createHandler(deps: HttpDeps): (request: HttpRequest) => Promise<HttpResponse> {
  const token = deps.config.http?.token ?? '';
  const listen = deps.config.http?.listen;
  const hostAllowed = hostChecker(listen === undefined ? undefined : parseListen(listen).host, deps.config.http?.allowedHosts ?? []);
  return async (request) => {
    const url = new URL(request.url, 'http://gpu-watcher');
    // /healthz tells nothing private, and orchestrators probe it by the container's address.
    if (url.pathname !== '/healthz' && !hostAllowed(request.headers.host)) {
      const host = JSON.stringify(request.headers.host?.slice(0, 100));
      return json(421, { error: `Host ${host} is not this server's: add it to http.allowedHosts to reach the watcher by that name` });
    }
    const guarded = url.pathname === '/metrics' || url.pathname.startsWith('/api/');
    if (url.pathname === '/api/reload') return reloadRoute(request, token, deps.reload);
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, { error: 'only GET is served' });
    if (guarded && token && !tokenMatches(request.headers.authorization, token)) return json(401, { error: 'this route needs Authorization: Bearer <http.token>' });

    const now = deps.clock.now();
    switch (url.pathname) {
      case '/healthz': {
        const { watcher } = deps.daemon;
        const verdict = judgeHealth(watcher.apiHealth, watcher.sinceSuccessMs(), deps.periodMs);
        return json(verdict.status === 'ok' ? 200 : 503, { ...verdict, lastPollAt: isoTime(watcher.stats.lastSuccessAt) });
      }
      case '/metrics': {
        const { metrics } = deps.daemon;
        if (!metrics) return json(404, { error: 'this watcher was started without metrics' });
        return { status: 200, headers: { 'content-type': metrics.registry.contentType }, body: await metrics.registry.metrics() };
      }
      case '/api/status': {
        const { store, watcher, auth } = deps.daemon;
        return json(200, buildStatus({ store, config: deps.config, now, live: { apiSource: deps.daemon.api.source, dryRun: deps.dryRun, keyAccepted: auth.accepted, watcher } }));
      }
      case '/api/history': {
        const since = parseSince(url.searchParams.get('since') ?? '24h', now);
        if ('error' in since) return json(400, { error: `since: ${since.error}` });
        const gpu = url.searchParams.get('gpu') ?? undefined;
        if (gpu === '') return json(400, { error: 'gpu: give a gpuTypeId, or leave the parameter out' });
        const query = { gpuTypeId: gpu, since: since.at, until: now };
        return json(200, {
          since: isoTime(since.at),
          intervals: deps.daemon.store.history.intervals(query).map(intervalToJson),
          dataCenters: dataCentersToJson(deps.daemon.store.history.dataCenterIntervals(query)),
          fleet: fleetToJson(deps.daemon.store.history.fleetIntervals(query)),
        });
      }
      case '/api/insights': {
        const since = parseSince(url.searchParams.get('since') ?? '30d', now);
        if ('error' in since) return json(400, { error: `since: ${since.error}` });
        const gpu = url.searchParams.get('gpu') ?? undefined;
        if (gpu === '') return json(400, { error: 'gpu: give a gpuTypeId, or leave the parameter out' });
        const timeZone = url.searchParams.get('tz') ?? 'UTC';
        const zoneProblem = timeZoneProblem(timeZone);
        if (zoneProblem) return json(400, { error: `tz: ${zoneProblem}` });
        return json(200, buildInsights(deps.daemon.store.history, deployableFloors(deps.config), { since: since.at, now, timeZone, gpuTypeId: gpu }));
      }
      default: {
        const asset = deps.assets.get(url.pathname);
        if (asset) return { status: 200, headers: { 'content-type': asset.contentType, 'cache-control': 'no-cache' }, body: asset.body };
        return json(404, { error: `no route ${url.pathname}` });
      }
    }
  };
}

/**
 * `POST /api/reload`: only with a token set and given, since it changes what the daemon does (and
 * a browser page could otherwise POST to loopback). 200 with what changed, 422 with every problem
 * of a refused file (the running config is kept).
 */
async function reloadRoute(request: HttpRequest, token: string, reload: HttpDeps['reload']): Promise<HttpResponse> {
  if (request.method !== 'POST') return json(405, { error: 'use POST to reload the config' });
  if (!token) return json(403, { error: 'reloading over HTTP needs http.token set; send SIGHUP instead' });
  if (!tokenMatches(request.headers.authorization, token)) return json(401, { error: 'this route needs Authorization: Bearer <http.token>' });
  if (!reload) return json(404, { error: 'this watcher has no config file to reload' });
  const result = await reload();
  return result.applied ? json(200, { reloaded: true, changes: result.summary }) : json(422, { reloaded: false, problems: result.problems });
}

/** Splits `HOST:PORT` (IPv6 as `[::1]:9464`). */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`"${listen}" is not HOST:PORT`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port: Number(match[3]) };
}

/** Serves the handler on `listen`; resolves once listening. */
export async function startHttpServer(
  listen: string,
  handler: (request: HttpRequest) => Promise<HttpResponse>,
  logger: Logger,
): Promise<{ url: string; close: () => Promise<void> }> {
  const { host, port } = parseListen(listen);
  const server = http.createServer((req, res) => {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    handler({ method: req.method ?? 'GET', url: req.url ?? '/', headers })
      .then((response) => res.writeHead(response.status, response.headers).end(req.method === 'HEAD' ? undefined : response.body))
      .catch((error: unknown) => {
        logger.error({ err: error, path: req.url }, 'HTTP handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  logger.info({ url }, 'HTTP server listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
