/**
 * Convox's defaults (`ApplyCompatibility` and `ApplyDefaults`): what an omitted or zero field
 * means. Some defaults apply when a key is not *written* (see attributes.ts), others when the
 * value is zero; the difference is deliberate in Convox and reproduced here.
 */
import type { Attributes } from './attributes';
import type { DecodedManifest } from './fields/manifest';
import type { ScaleAutoscale, ScaleCount, Service, ServiceFields } from './types';

/** A load error found while applying defaults, e.g. a limit below its request. */
export class DefaultsError extends Error {
  constructor(
    readonly convoxMessage: string,
    readonly path: string,
    readonly hint: string,
  ) {
    super(convoxMessage);
  }
}

/**
 * Timer schedules: split on whitespace, keep the first five fields (a sixth "year" field is
 * dropped), and turn a field that is exactly `?` into `*`.
 */
export function normaliseSchedule(schedule: string): string {
  const fields = schedule.split(/\s+/).filter((f) => f !== '');
  if (fields.length === 0) return schedule.trim() === '' ? '' : schedule;
  return fields
    .slice(0, 5)
    .map((f) => (f === '?' ? '*' : f))
    .join(' ');
}

export function applyCompatibility(manifest: DecodedManifest): void {
  for (const timer of manifest.timers ?? []) timer.schedule = normaliseSchedule(timer.schedule);
}

/** Autoscale is on when the block exists and names at least one signal or custom trigger. */
export function autoscaleEnabled(autoscale: ScaleAutoscale | undefined): boolean {
  if (!autoscale) return false;
  return Boolean(autoscale.cpu || autoscale.memory || autoscale.gpuUtilization || autoscale.queueDepth || (autoscale.custom?.length ?? 0) > 0);
}

function resolveCount(s: ServiceFields & { name: string }, attributes: Attributes): ScaleCount {
  const scale = s.scale ?? {};
  const prefix = `services.${s.name}.scale`;
  const enabled = autoscaleEnabled(scale.autoscale);
  const count: ScaleCount = { ...(scale.count ?? { min: 0, max: 0 }) };
  const minSet = scale.min !== undefined;
  const maxSet = scale.max !== undefined;
  if (minSet && maxSet) {
    count.min = scale.min ?? 0;
    count.max = scale.max ?? 0;
  } else if (minSet) {
    count.min = scale.min ?? 0;
    if (enabled) {
      if (count.max === 0) count.max = 10;
    } else count.max = count.min;
  } else if (maxSet) {
    count.max = scale.max ?? 0;
    if (count.min === 0 && !enabled) count.min = count.max;
  }
  if (enabled && count.max === 0) count.max = 10;
  const written = attributes.countWithPrefix(prefix);
  if (written === 0) return { min: 1, max: 1 };
  if (!attributes.has(`${prefix}.count`) && written > 1 && !enabled && !minSet && !maxSet) return { min: 1, max: 1 };
  return count;
}

function applyStartupProbe(s: ServiceFields, gpuCount: number): void {
  const probe = s.startupProbe;
  const mainPort = s.port?.port ?? 0;
  let path = (probe?.path ?? '').trim();
  let tcp = (probe?.tcpSocketPort ?? '').trim();
  if (gpuCount > 0 && path === '' && tcp === '' && mainPort > 0) {
    s.startupProbe = { ...(probe ?? {}), tcpSocketPort: String(mainPort) };
    tcp = String(mainPort);
  }
  const sp = s.startupProbe;
  if (!sp) return;
  path = (sp.path ?? '').trim();
  if (path !== '' || tcp !== '') {
    const live = s.liveness ?? {};
    sp.grace ||= live.grace ?? 0;
    sp.interval ||= live.interval ?? 0;
    sp.timeout ||= live.timeout ?? 0;
    sp.successThreshold ||= live.successThreshold ?? 0;
    sp.failureThreshold ||= live.failureThreshold ?? 0;
  }
  if (gpuCount > 0 && (sp.tcpSocketPort ?? '') !== '') {
    // GPU processes load models for minutes before they listen; give them room to start.
    sp.grace ||= 300;
    sp.interval ||= 10;
    sp.timeout ||= 5;
    sp.failureThreshold ||= 180;
    sp.successThreshold ||= 1;
  }
}

function applyServiceDefaults(s: ServiceFields & { name: string }, attributes: Attributes): Service {
  const attr = (path: string): boolean => attributes.has(`services.${s.name}.${path}`);
  const agent = s.agent?.enabled ?? false;
  const fixed = agent || (s.singleton ?? false);

  const build = { path: s.build?.path ?? '', manifest: s.build?.manifest ?? '', ...(s.build?.args ? { args: s.build.args } : {}) };
  if (build.path === '' && (s.image ?? '') === '') build.path = '.';
  if (build.path !== '' && build.manifest === '') build.manifest = 'Dockerfile';

  const deployment = { minimum: s.deployment?.minimum ?? 0, maximum: s.deployment?.maximum ?? 0 };
  if (!attr('deployment.maximum')) deployment.maximum = fixed ? 100 : 200;
  if (!attr('deployment.minimum')) deployment.minimum = fixed ? 0 : 50;

  const health = { path: '', interval: 0, grace: 0, timeout: 0, disable: false, ...(s.health ?? {}) };
  if (health.path === '') health.path = '/';
  if (health.interval === 0) health.interval = 5;
  if (health.grace === 0) health.grace = health.interval;
  if (health.timeout === 0) health.timeout = health.interval - 1;

  if (s.liveness && (s.liveness.path ?? '').trim() !== '') {
    const l = s.liveness;
    l.grace ||= 10;
    l.interval ||= 5;
    l.timeout ||= 5;
    l.successThreshold ||= 1;
    l.failureThreshold ||= 3;
  }

  const scale = { ...(s.scale ?? {}) };
  const gpuCount = scale.gpu?.count ?? 0;
  applyStartupProbe(s, gpuCount);

  const port = s.port && s.port.port !== 0 ? { ...s.port } : null;
  if (port && (port.scheme ?? '') === '') port.scheme = 'http';

  let ports = s.ports ?? [];
  if (port) ports = ports.filter((p) => !(p.port === port.port && (p.protocol === 'tcp' || (p.protocol ?? '') === '')));

  if (scale.autoscale) {
    const a = scale.autoscale;
    for (const key of ['cpu', 'memory', 'gpuUtilization', 'queueDepth'] as const) {
      const mode = a[key];
      if (mode && (mode.mode ?? '') === '') mode.mode = key === 'queueDepth' ? 'queue' : 'threshold';
    }
  }

  const count = resolveCount(s, attributes);
  let cpu = scale.cpu ?? 0;
  let memory = scale.memory ?? 0;
  if (gpuCount === 0) {
    if (cpu === 0) cpu = (scale.limit?.cpu ?? 0) > 0 ? (scale.limit?.cpu ?? 0) : 250;
    if (memory === 0) memory = (scale.limit?.memory ?? 0) > 0 ? (scale.limit?.memory ?? 0) : 512;
  }
  const limitCpu = scale.limit?.cpu ?? 0;
  const limitMemory = scale.limit?.memory ?? 0;
  if (limitCpu > 0 && limitCpu < cpu) {
    throw new DefaultsError('cpu limit can not be less cpu request', `services.${s.name}.scale.limit.cpu`, `raise scale.limit.cpu to at least ${cpu} or lower scale.cpu`);
  }
  if (limitMemory > 0 && limitMemory < memory) {
    throw new DefaultsError('memory limit can not be less memory request', `services.${s.name}.scale.limit.memory`, `raise scale.limit.memory to at least ${memory} or lower scale.memory`);
  }
  if (scale.gpu && gpuCount > 0 && (scale.gpu.vendor ?? '') === '') scale.gpu = { ...scale.gpu, vendor: 'nvidia' };

  const termination = { grace: s.termination?.grace ?? 0 };
  if (!attr('termination.grace')) termination.grace = 30;
  const tls = { redirect: s.tls?.redirect ?? false };
  if (!attr('tls.redirect')) tls.redirect = true;

  return {
    ...s,
    agent: { enabled: agent },
    build,
    command: s.command ?? '',
    deployment,
    domain: s.domain ?? [],
    drain: (s.drain ?? 0) === 0 ? 30 : (s.drain ?? 0),
    environment: s.environment ?? [],
    health,
    image: s.image ?? '',
    init: attr('init') ? (s.init ?? false) : true,
    internal: s.internal ?? false,
    internalRouter: s.internalRouter ?? false,
    port,
    ports,
    resources: s.resources ?? [],
    scale: { ...scale, count, cpu, memory },
    singleton: s.singleton ?? false,
    sticky: s.sticky ?? false,
    termination,
    timeout: (s.timeout ?? 0) === 0 ? 60 : (s.timeout ?? 0),
    tls,
  };
}

export function applyDefaults(manifest: DecodedManifest, attributes: Attributes): Service[] {
  for (const r of manifest.resources ?? []) r.options ??= {};
  return (manifest.services ?? []).map((s) => applyServiceDefaults(s, attributes));
}
