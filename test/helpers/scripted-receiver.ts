import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a scripted receiver saw it. */
export interface Seen {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver's answer: a status and a text body. */
export interface Answer {
  status: number;
  body: string;
}

/**
 * A receiver on 127.0.0.1, port 0, that answers each request with what `respond` makes of it
 * (a Slack that checks its limits, a misconfigured proxy that echoes the request, ...).
 */
export class ScriptedReceiver {
  readonly requests: (Seen & Answer)[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(respond: (request: Seen) => Answer): Promise<ScriptedReceiver> {
    const server = http.createServer();
    const receiver = new ScriptedReceiver(server);
    server.on('request', async (req: http.IncomingMessage, res: http.ServerResponse) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const seen: Seen = { path: req.url ?? '', headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body };
      const answer = respond(seen);
      receiver.requests.push({ ...seen, ...answer });
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** Requests answered 2xx. */
  accepted(): (Seen & Answer)[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// Slack's own limits, written out: the fake must not take them from the code it checks.
type TextObject = { type?: string; text?: string };
type Block = { type?: string; text?: TextObject; fields?: TextObject[]; elements?: TextObject[] };

/**
 * What Slack's incoming webhook answers a payload, by the Block Kit limits it enforces: 400
 * `invalid_blocks` for a header over 150 characters or not plain_text, a section text over 3,000,
 * more than 10 fields or one over 2,000, an empty text, more than 50 blocks; otherwise 200 `ok`.
 */
export function slackVerdict(request: Seen): Answer {
  const invalid = { status: 400, body: 'invalid_blocks' };
  let payload: { text?: string; blocks?: Block[] };
  try {
    payload = JSON.parse(request.body) as typeof payload;
  } catch {
    return { status: 400, body: 'invalid_payload' };
  }
  const blocks = payload.blocks ?? [];
  if (!payload.text || blocks.length > 50) return invalid;
  const fits = (t: TextObject | undefined, max: number): boolean => typeof t?.text === 'string' && t.text.length > 0 && t.text.length <= max;
  for (const block of blocks) {
    if (block.type === 'header' && (block.text?.type !== 'plain_text' || !fits(block.text, 150))) return invalid;
    if (block.type === 'section') {
      if (block.text && !fits(block.text, 3_000)) return invalid;
      if (block.fields && (block.fields.length > 10 || !block.fields.every((f) => fits(f, 2_000)))) return invalid;
    }
    if (block.type === 'context' && (!block.elements || block.elements.length > 10 || !block.elements.every((e) => fits(e, 3_000)))) return invalid;
  }
  return { status: 200, body: 'ok' };
}
