import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** The project's copy of RunPod's v2 OpenAPI file (src/sim/rest and dist/sim/rest are three levels below the root). */
const SPEC_PATH = fileURLToPath(new URL('../../../schema/runpod-v2.openapi.json', import.meta.url));
/** The id the whole document is registered under in ajv: every `$ref` in it resolves inside it. */
const DOC_ID = 'runpod-v2';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;

/** One declared parameter of an operation, with the validator of its schema. */
interface Parameter {
  name: string;
  in: string;
  required: boolean;
  /** An array: sent as the parameter repeated, or (`commaList`) as one comma-separated value (`style: form, explode: false`). */
  array: boolean;
  commaList: boolean;
  /** The JSON type the schema wants, to read the query string's text as. */
  type: string | undefined;
  validate: ValidateFunction;
}

/** An operation of the spec, found from a request's method and path. */
export interface Operation {
  id: string;
  template: string;
  pathParams: Record<string, string>;
  parameters: Parameter[];
  /** The JSON body's validator, when the operation takes one. */
  body: { required: boolean; validate: ValidateFunction } | undefined;
  responses: Record<string, ValidateFunction | undefined>;
}

const pointer = (...parts: string[]): string => `${DOC_ID}#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** One line per failure, naming the field: `$.gpu: additional property 'bogus' not allowed`, as RunPod names unknown fields. */
function describeErrors(errors: readonly ErrorObject[] | null | undefined, at = '$'): string[] {
  return (errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const where = `${at}${e.instancePath.replace(/\//g, '.')}`;
      const extra = (e.params as { unevaluatedProperty?: string; additionalProperty?: string }).unevaluatedProperty ?? (e.params as { additionalProperty?: string }).additionalProperty;
      return extra !== undefined ? `${where}: additional property '${extra}' not allowed` : `${where}: ${e.message ?? e.keyword}`;
    });
}

/**
 * RunPod's v2 contract, from the OpenAPI file: finds a request's operation by its path template,
 * and validates its query and path parameters and its JSON body against the operation's schemas
 * with ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1), `$ref`s resolved in the document.
 */
export class V2Contract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly doc: Json;
  private readonly operations: { method: string; template: string; pattern: RegExp; names: string[]; id: string; op: Json; shared: unknown[] }[] = [];
  private readonly compiled = new Map<string, Operation>();

  constructor() {
    this.doc = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as Json;
    // ajv-formats is CommonJS: under NodeNext its default export is the module object.
    addFormats.default(this.ajv);
    // OpenAPI's number formats, which JSON Schema does not define.
    for (const format of ['float', 'double', 'int32', 'int64']) this.ajv.addFormat(format, { type: 'number', validate: () => true });
    this.ajv.addSchema(this.doc, DOC_ID);
    for (const [template, item] of Object.entries(this.doc.paths as Record<string, Json>)) {
      const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
      const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '([^/]+)')}$`);
      for (const method of METHODS) {
        const op = item[method] as Json | undefined;
        if (op) this.operations.push({ method, template, pattern, names, id: String(op.operationId), op, shared: (item.parameters as unknown[]) ?? [] });
      }
    }
    // A literal segment wins over a template one (`/v2/registries/delegations` over `/v2/registries/{id}`).
    this.operations.sort((a, b) => a.names.length - b.names.length);
  }

  /** The operation for `method` and `path`; `allowed` lists the path's methods when only the method is wrong. */
  find(method: string, path: string): { operation: Operation } | { allowed: string[] } | undefined {
    const matches = this.operations.filter((o) => o.pattern.test(path));
    const hit = matches.find((o) => o.method === method.toLowerCase());
    if (!hit) return matches.length > 0 ? { allowed: matches.map((o) => o.method.toUpperCase()) } : undefined;
    const values = hit.pattern.exec(path)?.slice(1) ?? [];
    const pathParams = Object.fromEntries(hit.names.map((name, i) => [name, decodeURIComponent(values[i] ?? '')]));
    return { operation: { ...this.compile(hit), pathParams } };
  }

  /** Checks the query string and path parameters; one line per failure. */
  checkParameters(operation: Operation, query: URLSearchParams): string[] {
    const failures: string[] = [];
    const declared = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(query.keys())) if (!declared.has(name)) failures.push(`query.${name}: unknown query parameter`);
    for (const param of operation.parameters) {
      const raw = param.in === 'query' ? query.getAll(param.name) : param.in === 'path' ? [operation.pathParams[param.name] ?? ''] : [];
      if (param.in !== 'query' && param.in !== 'path') continue;
      if (raw.length === 0) {
        if (param.required) failures.push(`${param.in}.${param.name}: required`);
        continue;
      }
      const value = param.commaList ? raw.flatMap((r) => r.split(',')) : param.array ? raw : read(raw[raw.length - 1] ?? '', param.type);
      if (!param.validate(value)) failures.push(...describeErrors(param.validate.errors, `${param.in}.${param.name}`));
    }
    return failures;
  }

  /** Checks a JSON body (undefined: none was sent); one line per failure. */
  checkBody(operation: Operation, body: unknown): string[] {
    if (!operation.body) return [];
    if (body === undefined) return operation.body.required ? ['$: a JSON body is required'] : [];
    return operation.body.validate(body) ? [] : describeErrors(operation.body.validate.errors);
  }

  /** Checks an answer against the operation's response schema for its status (the simulator's own honesty). */
  checkResponse(operation: Operation, status: number, body: unknown): string[] {
    // A status the spec lists without content (204) has no body to check; an unlisted one falls to `default`.
    const validate = String(status) in operation.responses ? operation.responses[String(status)] : operation.responses.default;
    if (!validate) return [];
    return validate(body) ? [] : describeErrors(validate.errors);
  }

  private compile(entry: V2Contract['operations'][number]): Operation {
    const known = this.compiled.get(`${entry.method} ${entry.template}`);
    if (known) return known;
    const { op, method, template } = entry;
    const parameters = [...entry.shared, ...((op.parameters as unknown[]) ?? [])].map((declared, index) => {
      const isShared = index < entry.shared.length;
      const ref = (declared as { $ref?: string }).$ref;
      const at = ref ? `${DOC_ID}${ref}` : isShared ? pointer('paths', template, 'parameters', String(index)) : pointer('paths', template, method, 'parameters', String(index - entry.shared.length));
      const param = this.resolve(ref ?? '') ?? (declared as Json);
      const schema = this.resolve((param.schema as Json).$ref as string) ?? (param.schema as Json);
      return {
        name: String(param.name),
        in: String(param.in),
        required: param.required === true,
        array: schema.type === 'array',
        commaList: schema.type === 'array' && param.explode === false,
        type: typeof schema.type === 'string' ? schema.type : undefined,
        validate: this.ajv.getSchema(`${at}/schema`) as ValidateFunction,
      };
    });
    const content = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'];
    const body = content ? { required: (op.requestBody as Json).required === true, validate: this.ajv.getSchema(`${pointer('paths', template, method, 'requestBody', 'content', 'application/json')}/schema`) as ValidateFunction } : undefined;
    const responses: Record<string, ValidateFunction | undefined> = {};
    for (const [status, declared] of Object.entries(op.responses as Json)) {
      const ref = (declared as { $ref?: string }).$ref;
      const response = this.resolve(ref ?? '') ?? (declared as Json);
      const media = Object.keys((response.content as Json | undefined) ?? {})[0];
      const base = ref ? `${DOC_ID}${ref}` : pointer('paths', template, method, 'responses', status);
      responses[status] = media ? (this.ajv.getSchema(`${base}/content/${media.replace(/\//g, '~1')}/schema`) as ValidateFunction) : undefined;
    }
    const compiled: Operation = { id: entry.id, template, pathParams: {}, parameters, body, responses };
    this.compiled.set(`${method} ${template}`, compiled);
    return compiled;
  }

  /** The object a local `$ref` (`#/components/...`) points at; undefined for anything else. */
  private resolve(ref: string | undefined): Json | undefined {
    if (!ref?.startsWith('#/')) return undefined;
    let node: unknown = this.doc;
    for (const part of ref.slice(2).split('/')) node = (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    return node as Json | undefined;
  }
}

/** A query string value as the JSON type its schema wants; text that is not one stays text (and fails). */
function read(text: string, type: string | undefined): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}
