// Every test runs in UTC and may reach only this machine: a request to anywhere else is a bug.
process.env.TZ = 'UTC';

const realFetch = globalThis.fetch;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!LOOPBACK.has(url.hostname)) throw new Error(`test tried to reach ${url.host}; tests stay on loopback`);
  return realFetch(input, init);
};
