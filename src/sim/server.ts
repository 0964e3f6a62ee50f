import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execute, GraphQLError, type GraphQLSchema } from 'graphql';
import type { Clock } from '../lib/clock.js';
import { GRAPHQL_RETIRED, graphqlErrorAnswer, keyVerdict, parseRequest, rootFieldsOf, statusMessage, validationErrors } from './graphql-wire.js';
import { Market } from './market.js';
import { rootResolvers } from './resolvers.js';
import { RestSim } from './rest/handler.js';
import { RateLimiter } from './rest/rate-limit.js';
import { systemClock } from '../lib/clock.js';
import { loadRunpodSchema, spotFieldIn } from './schema.js';
import { faultSchema, scenarioSchema, type Fault, type FaultInput, type ScenarioInput, type SpotRetirementShape } from './scenario.js';

/** One request the simulator received, as it arrived. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  operationName: string | null;
  /** Root field names (not aliases), e.g. ["gpuTypes"] or ["podFindAndDeployOnDemand"]. */
  rootFields: string[];
  status: number;
  /** performance.now() when the request was read, and when its answer was written. */
  receivedAt: number;
  /** The simulator's clock (`now()`) when the request was read: virtual time when the clock is. */
  clockAt: number;
  answeredAt: number;
}

// The catalog answers without a key; the account's fields answer null without one; the rest (the
// mutations) is refused with HTTP 401.
const PUBLIC_FIELDS = new Set(['gpuTypes', 'dataCenters', 'countryCodes', '__typename', '__schema', '__type']);
const ACCOUNT_FIELDS = new Set(['myself', 'pod']);

/** How a simulator is started, beside its scenario. */
export interface SimulatorOptions {
  host?: string;
  /** 0 (the default): any free port. */
  port?: number;
  /** Answer introspection queries (`__schema`, `__type`); off by default, as on RunPod. */
  introspection?: boolean;
  /** Pod times (created, uptime) are read from it; the system clock by default. */
  clock?: Clock;
}

interface PendingFault {
  fault: Fault;
  left: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
}

/**
 * A RunPod stand-in: a real GraphQL server on loopback that validates every request against the
 * project's schema file and answers from a scripted market, with RunPod's status codes and refusal
 * texts, and with scripted faults. Tests, the demo and the benchmarks talk to it over HTTP exactly
 * as the daemon talks to RunPod.
 */
export class RunpodSimulator {
  readonly market: Market;
  readonly requests: RecordedRequest[] = [];
  private readonly faults: PendingFault[] = [];
  private held: (() => void)[] = [];
  /** Whether, and in which shape, spot is retired; changeable while running (`retireSpot`). */
  private spotRetired: SpotRetirementShape | false;
  private readonly schema: GraphQLSchema;
  private readonly schemaWithoutSpot: GraphQLSchema;
  private readonly server: http.Server;
  private readonly apiKey: string | undefined;
  private readonly introspection: boolean;
  /** Set by a scenario step that retires GraphQL: every GraphQL request answers 410 from then on. */
  private graphqlRetired = false;
  /** The REST v2 side, over the same market and pods; its `violations` are the v2 requests that broke RunPod's contract. */
  readonly rest: RestSim;
  private stepTimer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  /** The scenario's `rateLimit`, over every request; absent, only v2 is limited (`restRateLimit`). */
  private readonly limiter: RateLimiter | undefined;
  private address = '';

  private constructor(scenario: ScenarioInput, options: SimulatorOptions) {
    const parsed = scenarioSchema.parse(scenario);
    this.clock = options.clock ?? systemClock;
    this.market = new Market(parsed, this.clock);
    this.limiter = parsed.rateLimit ? new RateLimiter({ minute: parsed.rateLimit.perMinute }, this.clock) : undefined;
    this.introspection = options.introspection ?? false;
    this.schema = loadRunpodSchema();
    this.schemaWithoutSpot = loadRunpodSchema({ spotRetired: true });
    this.spotRetired = parsed.spotRetired === true ? 'validation' : parsed.spotRetired;
    this.apiKey = parsed.apiKey;
    const hold = (): Promise<void> => new Promise((resolve) => this.held.push(resolve));
    this.rest = new RestSim({ market: this.market, apiKey: parsed.apiKey, limiter: this.limiter ?? new RateLimiter(parsed.restRateLimit, this.clock), takeFault: (op) => this.takeFault([op], 'rest'), hold });
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { errors: [{ message: `simulator failure: ${String(error)}` }] });
      });
    });
    if (parsed.stepEvery !== undefined) {
      this.stepTimer = setInterval(() => this.advance(), parsed.stepEvery);
      this.stepTimer.unref();
    }
  }

  /** Starts a simulator on `host:port` (port 0: any free port). */
  static async start(scenario: ScenarioInput = {}, options: SimulatorOptions = {}): Promise<RunpodSimulator> {
    const sim = new RunpodSimulator(scenario, options);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(options.port ?? 0, host, resolve);
    });
    const { port } = sim.server.address() as AddressInfo;
    sim.address = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return sim;
  }

  /** The GraphQL endpoint to point a client at. */
  get url(): string {
    return `${this.address}/graphql`;
  }

  /** The REST v2 base to point a client at (RUNPOD_REST_URL). */
  get restUrl(): string {
    return `${this.address}/v2`;
  }

  /** Queues a fault for the next request(s) that match it. */
  fault(input: FaultInput): void {
    const fault = faultSchema.parse(input);
    this.faults.push({ fault, left: fault.times });
  }

  /** Takes the next scripted step (offer changes, faults, a retirement) and returns its note, for narration. */
  advance(): string | undefined {
    const step = this.market.advance();
    for (const fault of step?.faults ?? []) this.faults.push({ fault, left: fault.times });
    if (step?.retire === 'graphql') this.graphqlRetired = true;
    return step?.note;
  }

  /** Drops every queued fault, so the next requests are answered normally. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Retires spot in the given shape from the next request on, or (false) serves it again. */
  retireSpot(shape: SpotRetirementShape | false): void {
    this.spotRetired = shape;
  }

  /** Lets every held request go on. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  /** How many requests are being held. */
  get holding(): number {
    return this.held.length;
  }

  /** Requests whose root fields include `field`. */
  requestsFor(field: string): RecordedRequest[] {
    return this.requests.filter((r) => r.rootFields.includes(field));
  }

  async close(): Promise<void> {
    clearInterval(this.stepTimer);
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next fault for a request to `api` naming `fields` (GraphQL root fields, or the v2 operation id). */
  private takeFault(fields: string[], api: 'graphql' | 'rest'): Fault | undefined {
    const serves = (fault: Fault): boolean => (api === 'rest' ? fault.kind !== 'graphqlError' && fault.kind !== 'nulls' : fault.kind !== 'rest');
    const index = this.faults.findIndex((p) => serves(p.fault) && (p.fault.op === undefined || fields.includes(p.fault.op)));
    const pending = this.faults[index];
    if (!pending) return undefined;
    if (--pending.left <= 0) this.faults.splice(index, 1);
    return pending.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers, body, operationName: null, rootFields: [], status: 0, receivedAt: performance.now(), clockAt: this.clock.now(), answeredAt: 0 };
    this.requests.push(record);
    let rateHeaders: Record<string, string> = {};
    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      record.status = status;
      sendJson(res, status, payload, { ...rateHeaders, ...extra });
      record.answeredAt = performance.now();
    };
    const hold = (): Promise<void> => new Promise((resolve) => this.held.push(resolve));

    if (new URL(record.url, 'http://sim').pathname.startsWith('/v2/')) return this.rest.handle(req, res, record, body);
    const url = new URL(record.url, 'http://sim');
    const parsed = req.method === 'POST' && url.pathname === '/graphql' ? parseRequest(body) : undefined;
    const { operation, fields, answerKeys } = parsed?.document ? rootFieldsOf(parsed.document) : { operation: undefined, fields: [], answerKeys: [] };
    record.operationName = operation?.name?.value ?? null;
    record.rootFields = fields;
    // Once retired, every GraphQL request gets the same 410, whatever it holds (recorded all the same).
    if (this.graphqlRetired && url.pathname === '/graphql') return reply(410, GRAPHQL_RETIRED);
    if (!parsed) return reply(404, { errors: [{ message: 'POST /graphql only' }] });
    if (!parsed.document) return reply(400, parsed.refusal);
    const { request, document } = parsed;

    // A wrong key is refused before anything else; a missing one only for what is not public.
    const access = keyVerdict(url, headers.authorization, this.apiKey);
    const unauthorized = (): void => {
      record.status = 401;
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    };
    if (access === 'wrong') return unauthorized();
    const verdict = this.limiter?.take();
    rateHeaders = verdict?.headers ?? {};
    if (verdict?.exceeded) {
      const { window, retryAfterS } = verdict.exceeded;
      return reply(429, { errors: [{ message: `rate limit exceeded for the ${window} window` }] }, { 'retry-after': String(retryAfterS) });
    }
    // Every request is checked against the schema, faults or not: a fault never hides a bad query.
    const invalid = validationErrors(this.spotRetired === 'validation' ? this.schemaWithoutSpot : this.schema, document, this.introspection);
    if (invalid.length > 0) return reply(400, { errors: invalid });

    const fault = this.takeFault(fields, 'graphql');
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'hold' && fault.at === 'before') await hold();
    if (fault?.kind === 'reset') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const extra: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      reply(fault.status, { errors: [{ message: fault.message ?? statusMessage(fault.status) }] }, extra);
      return;
    }
    if (fault?.kind === 'raw') {
      record.status = fault.status;
      res.writeHead(fault.status, { 'content-type': fault.contentType }).end(fault.body);
      record.answeredAt = performance.now();
      return;
    }
    if (fault?.kind === 'malformed') {
      record.status = 200;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"gpuTypes":[{"id":');
      return;
    }

    if (access === 'none' && fields.some((f) => !PUBLIC_FIELDS.has(f) && !ACCOUNT_FIELDS.has(f))) return unauthorized();
    const spotField = this.spotRetired === 'errors' ? spotFieldIn(document) : undefined;
    if (spotField !== undefined) {
      reply(200, { errors: [{ message: `Cannot query field "${spotField}": spot pods are retired` }] });
      return;
    }
    if (fault?.kind === 'graphqlError' && fault.scope !== 'op') {
      const echoed = fault.echoInput ? ` ${JSON.stringify((request.variables as { input?: unknown } | undefined)?.input ?? null)}` : '';
      reply(200, graphqlErrorAnswer({ ...fault, message: `${fault.message}${echoed}` }, answerKeys));
      return;
    }
    const result = await execute({
      schema: this.schema,
      document,
      rootValue: rootResolvers(this.market, this.spotRetired, access === 'ok'),
      variableValues: (request.variables ?? {}) as Record<string, unknown>,
      operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
    });
    if (fault?.kind === 'hold' && fault.at === 'after') await hold();
    const data = (result.data ?? null) as Record<string, unknown> | null;
    const errors: unknown[] = result.errors ? result.errors.map((e: GraphQLError) => e.toJSON()) : [];
    // `nulls` and a `graphqlError` scoped to `op` touch only the root fields `op` names (all without one).
    const touched = answerKeys.filter((_, i) => fault?.op === undefined || fields[i] === fault.op);
    if (fault?.kind === 'nulls' && data) for (const key of touched) data[key] = null;
    if (fault?.kind === 'graphqlError' && data) {
      for (const key of touched) data[key] = null;
      errors.push(...touched.map((key) => ({ message: fault.message, path: [key], ...(fault.code ? { extensions: { code: fault.code } } : {}) })));
    }
    reply(200, { ...(errors.length > 0 ? { errors } : {}), data });
  }
}
