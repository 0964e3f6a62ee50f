import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  execute,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { Market } from './market.js';
import { rootResolvers } from './resolvers.js';
import { RestSim } from './rest/handler.js';
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
  answeredAt: number;
}

// Everything but the catalog needs a key.
const PUBLIC_FIELDS = new Set(['gpuTypes', '__typename', '__schema', '__type']);

interface PendingFault {
  fault: Fault;
  left: number;
}

/** The operation's root fields: their names, and the keys they answer under (alias or name). */
function rootFieldsOf(document: DocumentNode): { operation: OperationDefinitionNode | undefined; fields: string[]; answerKeys: string[] } {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const selections = operation?.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s] : [])) ?? [];
  return { operation, fields: selections.map((s) => s.name.value), answerKeys: selections.map((s) => s.alias?.value ?? s.name.value) };
}

/** The text a `status` fault answers with, as RunPod's front end words it. */
function statusMessage(status: number): string {
  const words: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 410: 'Gone', 429: 'Too Many Requests' };
  return words[status] ?? 'Server Error';
}

/** A `graphqlError` fault's answer: every root field null, and the error on the request, the first field, or each field. */
function graphqlErrorAnswer(fault: Extract<Fault, { kind: 'graphqlError' }>, answerKeys: string[]): Record<string, unknown> {
  const error = (path?: string) => ({ message: fault.message, ...(path === undefined ? {} : { path: [path] }), ...(fault.code ? { extensions: { code: fault.code } } : {}) });
  if (fault.scope === 'request') return { errors: [error()], data: null };
  const paths = fault.scope === 'each' ? answerKeys : answerKeys.slice(0, 1);
  return { data: Object.fromEntries(answerKeys.map((k) => [k, null])), errors: paths.map(error) };
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
  /** The REST v2 side, over the same market and pods; its `violations` are the v2 requests that broke RunPod's contract. */
  readonly rest: RestSim;
  private stepTimer: NodeJS.Timeout | undefined;
  private address = '';

  private constructor(scenario: ScenarioInput) {
    const parsed = scenarioSchema.parse(scenario);
    this.market = new Market(parsed);
    this.schema = loadRunpodSchema();
    this.schemaWithoutSpot = loadRunpodSchema({ spotRetired: true });
    this.spotRetired = parsed.spotRetired === true ? 'validation' : parsed.spotRetired;
    this.apiKey = parsed.apiKey;
    const hold = (): Promise<void> => new Promise((resolve) => this.held.push(resolve));
    this.rest = new RestSim({ market: this.market, apiKey: parsed.apiKey, rateLimit: parsed.restRateLimit, takeFault: (op) => this.takeFault([op], 'rest'), hold });
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
  static async start(scenario: ScenarioInput = {}, options: { host?: string; port?: number } = {}): Promise<RunpodSimulator> {
    const sim = new RunpodSimulator(scenario);
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

  /** Takes the next scripted step (offer changes and faults) and returns its note, for narration. */
  advance(): string | undefined {
    const step = this.market.advance();
    for (const fault of step?.faults ?? []) this.faults.push({ fault, left: fault.times });
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
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers, body, operationName: null, rootFields: [], status: 0, receivedAt: performance.now(), answeredAt: 0 };
    this.requests.push(record);
    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      record.status = status;
      sendJson(res, status, payload, extra);
      record.answeredAt = performance.now();
    };
    const hold = (): Promise<void> => new Promise((resolve) => this.held.push(resolve));

    if (new URL(record.url, 'http://sim').pathname.startsWith('/v2/')) return this.rest.handle(req, res, record, body);
    if (req.method !== 'POST' || new URL(record.url, 'http://sim').pathname !== '/graphql') {
      reply(404, { errors: [{ message: 'POST /graphql only' }] });
      return;
    }
    let request: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      reply(400, { errors: [{ message: 'Body is not JSON', extensions: { code: 'BAD_REQUEST' } }] });
      return;
    }
    let document: DocumentNode | undefined;
    try {
      document = parse(String(request.query ?? ''));
    } catch (error) {
      reply(400, { errors: [{ message: (error as Error).message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });
      return;
    }
    const { operation, fields, answerKeys } = rootFieldsOf(document);
    record.operationName = operation?.name?.value ?? null;
    record.rootFields = fields;

    // A wrong key is refused before anything else; a missing one only for what is not public.
    const authorization = headers.authorization;
    const keyOk = authorization === undefined ? false : this.apiKey === undefined ? authorization.startsWith('Bearer ') : authorization === `Bearer ${this.apiKey}`;
    const unauthorized = (): void => {
      record.status = 401;
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    };
    if (authorization !== undefined && !keyOk) return unauthorized();
    // Every request is checked against the schema, faults or not: a fault never hides a bad query.
    const invalid = validate(this.spotRetired === 'validation' ? this.schemaWithoutSpot : this.schema, document);
    if (invalid.length > 0) {
      reply(400, { errors: invalid.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) });
      return;
    }

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

    if (!keyOk && fields.some((f) => !PUBLIC_FIELDS.has(f))) return unauthorized();
    const spotField = this.spotRetired === 'errors' ? spotFieldIn(document) : undefined;
    if (spotField !== undefined) {
      reply(200, { errors: [{ message: `Cannot query field "${spotField}": spot pods are retired` }] });
      return;
    }
    if (fault?.kind === 'graphqlError') {
      const echoed = fault.echoInput ? ` ${JSON.stringify((request.variables as { input?: unknown } | undefined)?.input ?? null)}` : '';
      reply(200, graphqlErrorAnswer({ ...fault, message: `${fault.message}${echoed}` }, answerKeys));
      return;
    }
    const result = await execute({
      schema: this.schema,
      document,
      rootValue: rootResolvers(this.market, this.spotRetired),
      variableValues: (request.variables ?? {}) as Record<string, unknown>,
      operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
    });
    if (fault?.kind === 'hold' && fault.at === 'after') await hold();
    if (fault?.kind === 'nulls' && result.data) {
      for (const key of Object.keys(result.data)) (result.data as Record<string, unknown>)[key] = null;
    }
    reply(200, { ...(result.errors ? { errors: result.errors.map((e: GraphQLError) => e.toJSON()) } : {}), data: result.data ?? null });
  }
}
