import { lookup } from 'node:dns/promises';
import type { ConfigIssue } from '../config/errors.js';
import type { Config } from '../config/schema.js';
import { didYouMean } from '../lib/did-you-mean.js';
import { RunpodError } from '../runpod/errors.js';
import type { RunpodApi } from '../runpod/types.js';

/** What `check --online` found: lines saying what works, and problems as `path: message`. */
export interface OnlineReport {
  ok: string[];
  problems: ConfigIssue[];
}

/** Every GPU id the config names, with where. */
function gpuIds(config: Config): { path: string; gpu: string }[] {
  return [
    ...config.watch.map((w, i) => ({ path: `watch[${i}].gpu`, gpu: w.gpu })),
    ...config.alerts.map((a, i) => ({ path: `alerts[${i}].gpu`, gpu: a.gpu })),
    ...config.rules.flatMap((r, i) => r.candidates.map((c, j) => ({ path: `rules[${i}].candidates[${j}].gpu`, gpu: c.gpu }))),
  ];
}

/** Every http(s) URL in the notifiers' settings, whatever their type calls it. */
function notifierUrls(config: Config): { path: string; url: URL }[] {
  return Object.entries(config.notifiers).flatMap(([name, notifier]) =>
    Object.entries(notifier).flatMap(([key, value]) => (typeof value === 'string' && /^https?:\/\//.test(value) && URL.canParse(value) ? [{ path: `notifiers.${name}.${key}`, url: new URL(value) }] : [])),
  );
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Whether RunPod takes the key: the pod list needs it, and says nothing else. */
async function checkKey(api: RunpodApi, hasKey: boolean, needsKey: boolean, report: OnlineReport): Promise<void> {
  if (!hasKey) {
    if (needsKey) report.problems.push({ path: 'RUNPOD_API_KEY', message: 'is not set: rules and resume entries cannot deploy or resume' });
    return;
  }
  try {
    const pods = await api.listPods();
    report.ok.push(`RunPod accepts RUNPOD_API_KEY (${pods.length} pod(s) on the account)`);
  } catch (error) {
    const refused = error instanceof RunpodError && error.kind === 'auth';
    report.problems.push({ path: 'RUNPOD_API_KEY', message: refused ? `RunPod refuses it: ${reason(error)}` : `could not be checked: ${reason(error)}` });
  }
}

/** Whether every GPU id is in RunPod's catalog, with the nearest id when it is not. */
async function checkGpus(api: RunpodApi, config: Config, report: OnlineReport): Promise<void> {
  const used = gpuIds(config);
  if (used.length === 0) return;
  let known: string[];
  try {
    known = (await api.catalog({ gpuCount: 1, cloud: 'ALL' })).map((e) => e.gpuTypeId);
  } catch (error) {
    report.problems.push({ path: 'gpu ids', message: `RunPod's catalog could not be read: ${reason(error)}` });
    return;
  }
  const unknown = used.filter((u) => !known.includes(u.gpu));
  for (const { path, gpu } of unknown) {
    const meant = didYouMean(gpu, known);
    report.problems.push({ path, message: `"${gpu}" is not in RunPod's catalog${meant ? ` (did you mean "${meant}"?)` : ' (`gpu-watcher gpus` lists the ids)'}` });
  }
  if (unknown.length === 0) report.ok.push(`every GPU id is in RunPod's catalog (${new Set(used.map((u) => u.gpu)).size} id(s))`);
}

/** Whether each notifier's host name resolves (nothing is sent: `notify-test` does that). */
async function checkNotifiers(config: Config, report: OnlineReport): Promise<void> {
  const results = await Promise.all(
    notifierUrls(config).map(async ({ path, url }) => {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      try {
        await lookup(host);
        return { ok: `${path}: ${host} resolves` };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return { problem: { path, message: `host ${host} does not resolve (${code ?? reason(error)})` } };
      }
    }),
  );
  for (const result of results) {
    if (result.ok) report.ok.push(result.ok);
    if (result.problem) report.problems.push(result.problem);
  }
}

/**
 * `check --online`: asks RunPod whether the key works (through `account`) and whether every GPU id
 * exists (through `catalog`), and DNS whether each notifier's host resolves. Reads only; never
 * prints the key.
 */
export async function checkOnline(api: { account: RunpodApi; catalog: RunpodApi }, config: Config, hasKey: boolean): Promise<OnlineReport> {
  const needsKey = config.rules.length + config.resume.length > 0;
  // Run together, reported in a fixed order: the key, the GPU ids, the notifiers.
  const parts = [0, 1, 2].map((): OnlineReport => ({ ok: [], problems: [] }));
  const [key, gpus, notifiers] = parts as [OnlineReport, OnlineReport, OnlineReport];
  await Promise.all([checkKey(api.account, hasKey, needsKey, key), checkGpus(api.catalog, config, gpus), checkNotifiers(config, notifiers)]);
  return { ok: parts.flatMap((p) => p.ok), problems: parts.flatMap((p) => p.problems) };
}
