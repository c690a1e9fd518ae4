/**
 * The pod of a service, shared by its Deployment (or DaemonSet) and by the Jobs that run its
 * timers and one-off commands: image, command, environment by reference to the service's Secret,
 * requests and limits, volumes, placement and security settings.
 *
 * Not rendered (each needs something the rack does not have yet; they are left out, not faked):
 * - `volumeOptions` awsEfs and azureFiles (need the CSI drivers and their PVs), and `configMounts`
 *   (need the app's config Secrets);
 * - `imagePullSecrets` (the EKS nodes pull from the rack's ECR with their own role);
 * - `accessControl.awsPodIdentity` (needs pod identity associations, made on AWS);
 * - the rack resolver's `dnsConfig` search list (Convox's `<service>.<app>.<rack>.local` names).
 */
import { createHash } from 'node:crypto';
import type { Service } from '../../manifest';
import { shellWords } from '../../local/runtime/shell-words';
import { envSecretName } from './common';
import { serviceProbes } from './probes';

type Fields = Record<string, unknown>;

/** Host paths that mean the node's own (Convox's system volumes): mounted from the host, not per pod. */
const SYSTEM_PATHS = ['/var/run/docker.sock', '/var/run', '/var/log', '/var/lib/docker', '/proc', '/sys', '/cgroup'];

function isSystemPath(path: string): boolean {
  return SYSTEM_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

export function gpuResourceKey(vendor: string | undefined): string {
  return vendor === 'amd' || vendor === 'amd.com' ? 'amd.com/gpu' : 'nvidia.com/gpu';
}

/** Requests from `scale`; memory always has a limit (the request, unless `limit.memory` says more), as in Convox. */
export function containerResources(scale: Service['scale']): Fields {
  const gpu = scale.gpu?.count ?? 0;
  const gpuKey = gpuResourceKey(scale.gpu?.vendor);
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (scale.cpu > 0) requests.cpu = `${scale.cpu}m`;
  if (scale.memory > 0) requests.memory = `${scale.memory}Mi`;
  const limitCpu = scale.limit?.cpu ?? 0;
  const limitMemory = scale.limit?.memory ?? 0;
  if (limitCpu > 0) limits.cpu = `${limitCpu}m`;
  if (limitMemory > 0) limits.memory = `${limitMemory}Mi`;
  else if (scale.memory > 0) limits.memory = `${scale.memory}Mi`;
  if (gpu > 0) {
    requests[gpuKey] = String(gpu);
    limits[gpuKey] = String(gpu);
  }
  return {
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
  };
}

interface Volumes {
  readonly volumes: Fields[];
  readonly mounts: Fields[];
}

function volumeName(from: string): string {
  return `vol-${createHash('sha256').update(from).digest('hex').slice(0, 12)}`;
}

/** `volumes` (`from:to`) and `volumeOptions` emptyDirs; a path repeated in `from` is one volume. */
export function serviceVolumes(service: Pick<Service, 'volumes' | 'volumeOptions'>): Volumes {
  const volumes = new Map<string, Fields>();
  const mounts: Fields[] = [];
  for (const entry of service.volumes ?? []) {
    const colon = entry.indexOf(':');
    const from = colon < 0 ? entry : entry.slice(0, colon);
    const to = colon < 0 ? entry : entry.slice(colon + 1);
    const name = volumeName(from);
    volumes.set(name, isSystemPath(from) ? { name, hostPath: { path: from } } : { name, emptyDir: {} });
    mounts.push({ name, mountPath: to });
  }
  for (const option of service.volumeOptions ?? []) {
    const e = option.emptyDir;
    if (!e?.id || !e.mountPath) continue;
    const name = `ed-${e.id}`;
    volumes.set(name, { name, emptyDir: { ...(e.medium ? { medium: e.medium } : {}), ...(e.sizeLimit ? { sizeLimit: e.sizeLimit } : {}) } });
    mounts.push({ name, mountPath: e.mountPath });
  }
  return { volumes: [...volumes.values()], mounts };
}

function securityContext(service: Service): Fields | undefined {
  const sc = service.securityContext;
  const out: Fields = {
    allowPrivilegeEscalation: sc?.allowPrivilegeEscalation,
    capabilities: sc?.capabilities && (sc.capabilities.add || sc.capabilities.drop) ? { add: sc.capabilities.add, drop: sc.capabilities.drop } : undefined,
    privileged: service.privileged,
    readOnlyRootFilesystem: sc?.readOnlyRootFilesystem,
    runAsGroup: sc?.runAsGroup,
    runAsNonRoot: sc?.runAsNonRoot,
    runAsUser: sc?.runAsUser,
    seccompProfile: sc?.seccompProfile ? { type: sc.seccompProfile } : undefined,
  };
  return Object.values(out).some((v) => v !== undefined) ? out : undefined;
}

function affinity(service: Service): Fields | undefined {
  const required = Object.entries(service.nodeSelectorLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const preferred = (service.nodeAffinityLabels ?? []).filter((l) => l.label);
  if (required.length === 0 && preferred.length === 0) return undefined;
  return {
    nodeAffinity: {
      ...(preferred.length > 0
        ? {
            preferredDuringSchedulingIgnoredDuringExecution: preferred.map((l) => ({
              // Kubernetes takes weights from 1 to 100.
              weight: Math.min(100, Math.max(1, l.weight ?? 1)),
              preference: { matchExpressions: [{ key: l.label, operator: 'In', values: [l.value ?? ''] }] },
            })),
          }
        : {}),
      ...(required.length > 0
        ? { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: required.map(([key, value]) => ({ key, operator: 'In', values: [value] })) }] } }
        : {}),
    },
  };
}

function tolerations(service: Service): Fields[] | undefined {
  const out: Fields[] = [];
  for (const key of ['convox.io/label', 'convox.io/nodepool']) {
    const value = service.nodeSelectorLabels?.[key];
    if (value !== undefined) out.push({ key: 'dedicated-node', operator: 'Equal', value, effect: 'NoSchedule' });
  }
  if ((service.scale.gpu?.count ?? 0) > 0) out.push({ key: gpuResourceKey(service.scale.gpu?.vendor), operator: 'Exists', effect: 'NoSchedule' });
  return out.length > 0 ? out : undefined;
}

function exec(command: string | undefined): Fields | undefined {
  return command && command.trim() !== '' ? { exec: { command: shellWords(command) } } : undefined;
}

export interface PodSpecOptions {
  readonly service: Service;
  readonly image: string;
  /** Variables set by reference (resources AWS provisions) or by the platform (TIMER_INDEX). */
  readonly env: readonly Fields[];
  /** A long-running service (ports, probes, hooks, init container) or a run to completion. */
  readonly role: 'service' | 'job';
  /** The command; a service's own `command` unless a job runs another. */
  readonly command: string;
}

/** The pod spec of a service's process. */
export function podSpec(options: PodSpecOptions): Fields {
  const { service, image, role } = options;
  const agent = service.agent.enabled;
  const { volumes, mounts } = serviceVolumes(service);
  const args = options.command.trim() !== '' ? shellWords(options.command) : undefined;
  const envFrom = [{ secretRef: { name: envSecretName(service.name) } }];
  const env = [{ name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }, ...options.env];

  const ports: Fields[] = [];
  if (role === 'service') {
    if (service.port) ports.push({ name: 'main', containerPort: service.port.port, protocol: 'TCP' });
    for (const p of service.ports) {
      // Agents are reached on their node's address: their extra ports are host ports.
      ports.push({ name: `port-${p.port}`, containerPort: p.port, protocol: (p.protocol || 'tcp').toUpperCase(), ...(agent ? { hostPort: p.port } : {}) });
    }
  }

  const lifecycle = role === 'service' ? { postStart: exec(service.lifecycle?.postStart), preStop: exec(service.lifecycle?.preStop) } : {};
  const container: Fields = {
    name: service.name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args,
    env,
    envFrom,
    ports: ports.length > 0 ? ports : undefined,
    resources: containerResources(service.scale),
    ...(role === 'service' ? serviceProbes(service) : {}),
    lifecycle: lifecycle.postStart || lifecycle.preStop ? lifecycle : undefined,
    securityContext: securityContext(service),
    volumeMounts: mounts.length > 0 ? mounts : undefined,
  };

  const init = role === 'service' ? service.initContainer : undefined;
  // The init container mounts its own volumeOptions; an emptyDir id it shares with the service is one volume.
  const initVolumes = serviceVolumes({ volumeOptions: init?.volumeOptions ?? [] });
  const initContainers =
    init && (init.image || init.command)
      ? [
          {
            name: 'init',
            image: init.image || image,
            imagePullPolicy: 'IfNotPresent',
            args: init.command && init.command.trim() !== '' ? shellWords(init.command) : undefined,
            env: [{ name: 'INIT_CONTAINER', value: 'true' }, ...options.env],
            envFrom,
            volumeMounts: initVolumes.mounts.length > 0 ? initVolumes.mounts : undefined,
          },
        ]
      : undefined;
  const allVolumes = [...volumes, ...initVolumes.volumes.filter((v) => !volumes.some((w) => w.name === v.name))];
  const ndots = service.dnsConfig?.ndots ?? 0;

  return {
    affinity: affinity(service),
    containers: [container],
    dnsConfig: ndots > 0 ? { options: [{ name: 'ndots', value: String(ndots) }] } : undefined,
    hostUsers: service.disableHostUsers ? false : undefined,
    initContainers,
    restartPolicy: role === 'job' ? 'Never' : undefined,
    serviceAccountName: service.name,
    shareProcessNamespace: service.init,
    terminationGracePeriodSeconds: service.termination.grace,
    tolerations: tolerations(service),
    volumes: allVolumes.length > 0 ? allVolumes : undefined,
  };
}
