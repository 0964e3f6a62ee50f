import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Market } from '../market.js';
import type { Fault } from '../scenario.js';
import { V2Contract } from './contract.js';
import type { RateLimiter } from './rate-limit.js';
import { Problem, ROUTES, type Answer } from './routes.js';

/** A v2 request that broke RunPod's contract: where (its route, query or path parameters, body, or a handler rule), and how. */
export interface RestViolation {
  method: string;
  path: string;
  operation: string | null;
  where: 'route' | 'parameters' | 'body' | 'rule';
  errors: string[];
}

/** The parts of the simulator's record of a request that the v2 side fills in. */
interface RequestRecord {
  operationName: string | null;
  rootFields: string[];
  status: number;
  answeredAt: number;
}

/** What the v2 side shares with the rest of the simulator. */
export interface RestSimDeps {
  market: Market;
  /** When set, the Bearer key every v2 request needs; otherwise any Bearer key passes. */
  apiKey: string | undefined;
  /** Counts every authenticated v2 request: the v2 side's own, or the one the whole simulator shares. */
  limiter: RateLimiter;
  /** The next queued fault for this v2 operation, if any. */
  takeFault: (operationId: string) => Fault | undefined;
  /** Resolves when the test releases held requests. */
  hold: () => Promise<void>;
}

/**
 * The contract, compiled once per process on the first v2 request: compiling RunPod's spec takes
 * tenths of a second, which a simulator that only ever serves GraphQL should not pay.
 */
let compiled: V2Contract | undefined;
const contract = (): V2Contract => (compiled ??= new V2Contract());

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  501: 'Not Implemented',
};

/** RFC 9457 problem JSON, as every v2 error is answered. */
function problem(status: number, detail: string, errors?: readonly string[], title?: string): { status: number; body: Record<string, unknown> } {
  return { status, body: { title: title ?? TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error'), status, detail, ...(errors?.length ? { errors } : {}) } };
}

/**
 * The simulator's REST v2 side: RunPod's v2 API over the same market and pods as the GraphQL side.
 * Every request is matched to its operation in the OpenAPI file and validated against it (query
 * and path parameters: 400; JSON body, unknown fields included: 422); every request that breaks
 * the contract is kept in `violations`, so tests can assert a client never sends one. Bearer keys
 * only; `RateLimit` headers on every authenticated answer and 429 past the limit; scripted faults.
 */
export class RestSim {
  readonly violations: RestViolation[] = [];
  /** Every pod's `createdAt`: the simulator keeps no creation times. */
  private readonly createdAt = new Date().toISOString();

  constructor(private readonly deps: RestSimDeps) {
  }

  /** Answers one v2 request whose body has been read. */
  async handle(req: IncomingMessage, res: ServerResponse, record: RequestRecord, text: string): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sim');
    let headers: Record<string, string> = {};
    const write = (answer: Answer, extra: Record<string, string> = {}): void => {
      record.status = answer.status;
      const type = answer.status >= 400 ? 'application/problem+json' : 'application/json';
      res.writeHead(answer.status, { ...(answer.body === undefined ? {} : { 'content-type': type }), ...headers, ...extra });
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      record.answeredAt = performance.now();
    };
    const violation = (where: RestViolation['where'], errors: string[], operation: string | null): void => {
      this.violations.push({ method, path: url.pathname, operation, where, errors });
    };

    const found = contract().find(method, url.pathname);
    if (!found || 'allowed' in found) {
      violation('route', [found ? `${method} not allowed` : 'no such path'], null);
      return write(found ? problem(405, `${method} is not allowed here`) : problem(404, 'no such path'), found ? { allow: found.allowed.join(', ') } : {});
    }
    const { operation } = found;
    record.operationName = operation.id;
    record.rootFields = [operation.id];

    const authorization = req.headers.authorization;
    const keyOk = this.deps.apiKey === undefined ? /^Bearer \S+$/.test(authorization ?? '') : authorization === `Bearer ${this.deps.apiKey}`;
    if (!keyOk) return write(problem(401, authorization === undefined ? 'missing bearer token' : 'invalid API key'));
    const verdict = this.deps.limiter.take();
    headers = verdict.headers;

    // Every request is checked against the contract, faults or not: a fault never hides a bad request.
    const badParameters = contract().checkParameters(operation, url.searchParams);
    if (badParameters.length > 0) {
      violation('parameters', badParameters, operation.id);
      return write(problem(400, 'request parameters do not match the API contract', badParameters));
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      violation('body', ['$: not JSON'], operation.id);
      return write(problem(400, 'the request body is not JSON'));
    }
    const badBody = contract().checkBody(operation, body);
    if (badBody.length > 0) {
      violation('body', badBody, operation.id);
      return write(problem(422, 'the request body does not match the API contract', badBody));
    }
    if (verdict.exceeded) {
      const { window, retryAfterS } = verdict.exceeded;
      return write(problem(429, `rate limit exceeded for the ${window} window`), { 'retry-after': String(retryAfterS) });
    }

    const fault = this.deps.takeFault(operation.id);
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'hold' && fault.at === 'before') await this.deps.hold();
    if (fault?.kind === 'reset') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    const retryAfter = (seconds: number | undefined): Record<string, string> => (seconds === undefined ? {} : { 'retry-after': String(seconds) });
    if (fault?.kind === 'status') return write(problem(fault.status, fault.message ?? TITLES[fault.status] ?? 'error'), retryAfter(fault.retryAfter));
    if (fault?.kind === 'rest') {
      return write(problem(fault.status, fault.detail ?? TITLES[fault.status] ?? 'error', fault.errors, fault.title), retryAfter(fault.retryAfter));
    }
    if (fault?.kind === 'raw' || fault?.kind === 'malformed') {
      const raw = fault.kind === 'raw' ? fault : { status: 200, contentType: 'application/json', body: '{"gpus":[{"id":' };
      record.status = raw.status;
      res.writeHead(raw.status, { 'content-type': raw.contentType, ...headers }).end(raw.body);
      record.answeredAt = performance.now();
      return;
    }

    const route = ROUTES[operation.id];
    let answer: Answer;
    try {
      answer = route
        ? route(this.deps.market, { pathParams: operation.pathParams, query: url.searchParams, body: body as Record<string, unknown> | undefined }, this.createdAt)
        : problem(501, `${operation.id} is not simulated`);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      if (error.broken !== undefined) violation('rule', [error.broken], operation.id);
      answer = problem(error.status, error.detail);
    }
    if (fault?.kind === 'hold' && fault.at === 'after') await this.deps.hold();
    write(answer);
  }
}
