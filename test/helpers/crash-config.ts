import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temp folder with the crash tests' config: one rule with maxPods 2 and maxDeploys 1, so the pod
 * list never stops a second deploy (one live pod is below maxPods) and only the journal does (a
 * pending entry, or the succeeded one maxDeploys counts). A journal lost or ignored across a crash
 * shows as a second deploy request and a second pod. `api` is the config's `api:` section, if any.
 */
export async function crashTestConfig(prefix: string, api?: string): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const config = join(dir, 'watcher.yaml');
  await writeFile(
    config,
    `poll: { schedule: "0 0 * * * *", timeout: 30s }
${api === undefined ? '' : `api: ${api}\n`}store: { path: ${join(dir, 'w.db')} }
rules:
  - name: trainer
    cloud: SECURE
    spot: never
    maxPods: 2
    maxDeploys: 1
    candidates: [{ gpu: NVIDIA RTX A6000, maxPrice: 0.80 }]
    pod: { imageName: runpod/pytorch }
`,
  );
  return { dir, config };
}
