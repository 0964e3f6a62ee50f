/**
 * Waits until `condition` holds, checking every 10 ms, for at most `timeoutMs`; then fails naming
 * `what`. Tests wait on what they need to have happened, never for a fixed time: under load a
 * fixed sleep is either too short (flaky) or too long (slow), and it hides a thing that never happened.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what?: string } = {}): Promise<void> {
  const { timeoutMs = 10_000, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
