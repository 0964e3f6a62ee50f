import { splitHostPort } from '../lib/host-port.js';

// Loopback names: a page served from anywhere else cannot put one of these in its Host header.
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
// Wildcard listen addresses are not names anyone reaches the server by: they grant nothing.
const WILDCARD = new Set(['0.0.0.0', '[::]']);

/**
 * The DNS-rebinding guard: a browser tricked into sending a page's requests here still names the
 * page's own host in `Host`. Accepted: the listen host, a loopback name (any port: a tunnel or a
 * published container port changes it), and each `allowedHosts` entry (only its port, when it
 * names one). A request without Host is no browser's, so it is let through.
 */
export function hostChecker(listenHost: string | undefined, allowedHosts: readonly string[]): (header: string | undefined) => boolean {
  const anyPort = new Set(LOOPBACK);
  const listen = listenHost === undefined ? undefined : splitHostPort(listenHost.includes(':') ? `[${listenHost}]` : listenHost);
  if (listen && !WILDCARD.has(listen.host)) anyPort.add(listen.host);
  const entries = allowedHosts.map(splitHostPort).filter((entry) => entry !== undefined);
  return (header) => {
    if (header === undefined) return true;
    const given = splitHostPort(header);
    if (!given) return false;
    if (anyPort.has(given.host)) return true;
    // A Host without a port means the scheme's default, 80 for plain HTTP.
    return entries.some((entry) => entry.host === given.host && (entry.port === undefined || entry.port === (given.port ?? 80)));
  };
}
