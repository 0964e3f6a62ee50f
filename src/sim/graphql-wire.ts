import { Kind, NoSchemaIntrospectionCustomRule, parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { Fault } from './scenario.js';

// How the simulated GraphQL endpoint reads a request and words its refusals, apart from the server.

/** One GraphQL error as the simulator sends it. */
interface WireError {
  message: string;
  path?: string[];
  extensions?: { code: string };
}

/**
 * The body of every GraphQL answer once RunPod has retired the API (HTTP 410 Gone). RunPod has not
 * published it; we answer GraphQL-shaped JSON, so that a client reading `errors[0].message` (as
 * GraphQL clients do) can show why, with a pointer to what replaces it.
 */
export const GRAPHQL_RETIRED = {
  errors: [{ message: 'This API has been retired. Use the RunPod REST API v2 (https://api.runpod.io/v2) instead.', extensions: { code: 'GONE' } }],
};

/**
 * The refusal of an introspection query. RunPod has introspection off in production but has not
 * published its text; this is how common GraphQL servers word it, at HTTP 400.
 */
const INTROSPECTION_OFF: WireError = {
  message: 'GraphQL introspection is not allowed, but the query contained __schema or __type.',
  extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
};

/** A GraphQL request body as it arrives: anything may be missing or of the wrong type. */
interface GraphqlRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

/** A POST body read as a GraphQL request, or the 400 answer RunPod gives when it is not one. */
export function parseRequest(body: string): { request: GraphqlRequestBody; document: DocumentNode } | { document?: undefined; refusal: unknown } {
  let request: GraphqlRequestBody;
  try {
    const value: unknown = JSON.parse(body);
    request = typeof value === 'object' && value !== null ? (value as GraphqlRequestBody) : {};
  } catch {
    return { refusal: { errors: [{ message: 'Body is not JSON', extensions: { code: 'BAD_REQUEST' } }] } };
  }
  try {
    return { request, document: parse(String(request.query ?? '')) };
  } catch (error) {
    return { refusal: { errors: [{ message: (error as Error).message, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] } };
  }
}

/** The operation's root fields: their names, and the keys they answer under (alias or name). */
export function rootFieldsOf(document: DocumentNode): { operation: OperationDefinitionNode | undefined; fields: string[]; answerKeys: string[] } {
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const selections = operation?.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [s] : [])) ?? [];
  return { operation, fields: selections.map((s) => s.name.value), answerKeys: selections.map((s) => s.alias?.value ?? s.name.value) };
}

/**
 * The request checked against the schema, then (unless `introspection` is allowed) for `__schema`
 * and `__type`, which RunPod refuses with one error of its own. Empty: the request is valid.
 */
export function validationErrors(schema: GraphQLSchema, document: DocumentNode, introspection: boolean): WireError[] {
  const invalid = validate(schema, document);
  if (invalid.length > 0) return invalid.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
  if (!introspection && validate(schema, document, [NoSchemaIntrospectionCustomRule]).length > 0) return [INTROSPECTION_OFF];
  return [];
}

/**
 * What the request's keys say, as RunPod reads them: from `Authorization: Bearer <key>` and from
 * `?api_key=<key>` (an empty one counts as none). `none`: no key; `wrong`: a key given is not
 * `apiKey` (or, with no `apiKey` set, the header is not a Bearer one); `ok` otherwise.
 */
export function keyVerdict(url: URL, authorization: string | undefined, apiKey: string | undefined): 'none' | 'ok' | 'wrong' {
  const fromQuery = url.searchParams.get('api_key') || undefined;
  if (authorization === undefined && fromQuery === undefined) return 'none';
  const headerOk = authorization === undefined || (apiKey === undefined ? authorization.startsWith('Bearer ') : authorization === `Bearer ${apiKey}`);
  const queryOk = fromQuery === undefined || apiKey === undefined || fromQuery === apiKey;
  return headerOk && queryOk ? 'ok' : 'wrong';
}

/** The text a `status` fault answers with, as RunPod's front end words it. */
export function statusMessage(status: number): string {
  const words: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 410: 'Gone', 429: 'Too Many Requests' };
  return words[status] ?? 'Server Error';
}

/** A `graphqlError` fault's answer: every root field null, and the error on the request, the first field, or each field. */
export function graphqlErrorAnswer(fault: Extract<Fault, { kind: 'graphqlError' }>, answerKeys: string[]): Record<string, unknown> {
  const error = (path?: string): WireError => ({ message: fault.message, ...(path === undefined ? {} : { path: [path] }), ...(fault.code ? { extensions: { code: fault.code } } : {}) });
  if (fault.scope === 'request') return { errors: [error()], data: null };
  const paths = fault.scope === 'each' ? answerKeys : answerKeys.slice(0, 1);
  return { data: Object.fromEntries(answerKeys.map((k) => [k, null])), errors: paths.map(error) };
}
