/** A Host header or an allowedHosts entry: a lower-case host (IPv6 in brackets) and its port, if given. */
interface HostPort {
  host: string;
  port?: number;
}

/** Splits `host`, `host:port` or `[v6]:port`; undefined when it is neither. A trailing dot is dropped. */
export function splitHostPort(text: string): HostPort | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_.])?)(?::(\d{1,5}))?$/.exec(text.trim().toLowerCase());
  if (!match?.[1]) return undefined;
  const host = match[1].replace(/\.$/, '');
  return match[2] === undefined ? { host } : { host, port: Number(match[2]) };
}
