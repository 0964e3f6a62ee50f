// The container's HEALTHCHECK: GET /healthz where the daemon listens (GPU_WATCHER_HTTP, the image's
// HOST:PORT; 127.0.0.1:9464 when unset). A wildcard host (0.0.0.0, [::]) is reached over loopback.
// Exits 0 when /healthz answers 2xx, 1 otherwise (503 while polls fail, no answer, a bad setting).
const listen = process.env.GPU_WATCHER_HTTP || '127.0.0.1:9464';
const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(listen);
if (!match) {
  console.error(`healthcheck: GPU_WATCHER_HTTP is not HOST:PORT: "${listen}"`);
  process.exit(1);
}
const wildcard = { '0.0.0.0': '127.0.0.1', '[::]': '[::1]' };
const host = wildcard[match[1]] ?? match[1];
try {
  const response = await fetch(`http://${host}:${match[2]}/healthz`, { signal: AbortSignal.timeout(4_000) });
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`healthcheck: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
