import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the capture server received. */
export interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1, port 0: records every request and answers with the scripted
 * statuses in order (then 200), after an optional delay.
 */
export class CaptureServer {
  /** Requests answered, in the order their answers went out. */
  readonly requests: Captured[] = [];
  /** Requests whose body has arrived, answered or not: one still in its `delayMs` is in flight. */
  readonly arrived: Pick<Captured, 'method' | 'path'>[] = [];
  private readonly script: number[] = [];
  delayMs = 0;
  private server: http.Server | undefined;
  private port = 0;

  static async start(port = 0): Promise<CaptureServer> {
    const capture = new CaptureServer();
    await capture.listen(port);
    return capture;
  }

  /** Answers the next requests with these statuses, in order. */
  respondWith(...statuses: number[]): void {
    this.script.push(...statuses);
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests that were answered 2xx. */
  accepted(): Captured[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async listen(port = this.port): Promise<void> {
    this.server = http.createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      this.arrived.push({ method: req.method ?? '', path: req.url ?? '' });
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const status = this.script.shift() ?? 200;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : `nope ${status}`);
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
