import type { Pod, PodRuntime } from '../runpod/types.js';

/** How to reach one exposed port of a ready pod. */
export interface PortAccess {
  privatePort: number;
  type: string;
  /** `IP:port` for a TCP port with a public mapping. */
  address?: string;
  /** RunPod's proxy URL for an HTTP port. */
  url?: string;
}

/** What `pod.ready` tells of a pod: each port's way in, and the ssh command when 22 is reachable. */
export function connectionOf(podId: string, runtime: PodRuntime): { ports: PortAccess[]; ssh?: string } {
  const ports: PortAccess[] = [];
  let ssh: string | undefined;
  for (const port of runtime.ports) {
    const access: PortAccess = { privatePort: port.privatePort, type: port.type };
    if (port.type === 'http') access.url = `https://${podId}-${port.privatePort}.proxy.runpod.net`;
    else if (port.isIpPublic && port.ip !== null && port.publicPort !== null) {
      access.address = `${port.ip}:${port.publicPort}`;
      if (port.privatePort === 22) ssh = `ssh root@${port.ip} -p ${port.publicPort}`;
    }
    ports.push(access);
  }
  return ssh === undefined ? { ports } : { ports, ssh };
}

/**
 * Whether a pod is up: its runtime shows uptime and, when the deploy exposed ports, at least one of
 * them mapped. A pod still pulling its image, stuck or failed has no runtime.
 */
export function isReady(pod: Pod, exposesPorts: boolean): boolean {
  const runtime = pod.runtime;
  if (!runtime || runtime.uptimeSeconds <= 0) return false;
  return !exposesPorts || runtime.ports.length > 0;
}
