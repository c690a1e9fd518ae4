import { autoscaleEnabled } from '../defaults';
import type { AutoscaleMode, Service } from '../types';
import type { Finding } from './finding';
import { NAME, NAME_RULE } from './finding';
import { parseGoUrl } from './go-parsers';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const invalidPercent = (v: number | undefined): boolean => {
  const n = v ?? 0;
  return Number.isNaN(n) || n <= 0 || n > 100;
};

function modeProblems(service: string, key: string, mode: AutoscaleMode | undefined, at: string): Finding[] {
  if (!mode) return [];
  const out: Finding[] = [];
  const url = mode.prometheusUrl ?? '';
  if (url !== '') {
    const parsed = parseGoUrl(url);
    let problem: string | undefined;
    if ('error' in parsed) problem = `is not a valid URL: ${parsed.error}`;
    else if (parsed.scheme !== 'http' && parsed.scheme !== 'https') problem = `must use http or https scheme, got ${JSON.stringify(parsed.scheme)}`;
    else if (parsed.host === '') problem = 'must include a host';
    if (problem) out.push({ message: `service ${service}: scale.autoscale.${key}.prometheusUrl ${problem}`, path: `${at}.${key}.prometheusUrl`, hint: 'write the Prometheus server address, e.g. http://prometheus.monitoring:9090' });
  }
  const metric = mode.metricName ?? '';
  if (metric !== '' && !METRIC_NAME.test(metric)) {
    out.push({ message: `service ${service}: scale.autoscale.${key}.metricName ${JSON.stringify(metric)} must match ^[a-zA-Z_:][a-zA-Z0-9_:]*$`, path: `${at}.${key}.metricName` });
  }
  return out;
}

/** Scale checks of one service; an agent with autoscaling only gets a warning (it runs one process per node). */
export function validateScale(s: Service): { errors: Finding[]; warnings: Finding[] } {
  const at = `services.${s.name}.scale`;
  const errors: Finding[] = [];
  const a = s.scale.autoscale;
  const kedaEnabled = (s.scale.keda?.triggers?.length ?? 0) > 0;
  if (s.agent.enabled && (autoscaleEnabled(a) || kedaEnabled)) {
    return {
      errors,
      warnings: [
        {
          message: `WARNING: service ${JSON.stringify(s.name)}: agent runs as DaemonSet; scale.autoscale and scale.keda configuration is ignored. Remove autoscale/keda or set agent:false to use autoscaling.`,
          path: at,
        },
      ],
    };
  }
  const { min, max } = s.scale.count;
  const countHint = 'write scale: {min: N, max: M} or count: "MIN-MAX" with 0 <= MIN <= MAX';
  if (min < 0) errors.push({ message: `service ${s.name}: scale.min must be >= 0`, path: at, hint: countHint });
  if (max < 0) errors.push({ message: `service ${s.name}: scale.max must be >= 0`, path: at, hint: countHint });
  if (max < min) errors.push({ message: `service ${s.name}: scale.max must be >= scale.min`, path: at, hint: countHint });
  if (!a || !autoscaleEnabled(a)) return { errors, warnings: [] };

  if (max < 1) errors.push({ message: `service ${s.name}: scale.max must be >= 1 when autoscale is enabled`, path: at });
  if (max === min && max >= 1) {
    errors.push({ message: `service ${s.name}: scale.max must be > scale.min when autoscale is enabled (ScaledObject would be a no-op)`, path: at, hint: `raise scale.max above ${min}, or drop autoscale for a fixed count` });
  }
  const auto = `${at}.autoscale`;
  if (a.cpu && invalidPercent(a.cpu.threshold)) errors.push({ message: `service ${s.name}: scale.autoscale.cpu.threshold must be between 1 and 100`, path: `${auto}.cpu` });
  if (a.memory && invalidPercent(a.memory.threshold)) errors.push({ message: `service ${s.name}: scale.autoscale.memory.threshold must be between 1 and 100`, path: `${auto}.memory` });
  if (a.gpuUtilization) {
    if (invalidPercent(a.gpuUtilization.threshold)) errors.push({ message: `service ${s.name}: scale.autoscale.gpuUtilization.threshold must be > 0 and <= 100`, path: `${auto}.gpuUtilization` });
    if ((s.scale.gpu?.count ?? 0) === 0) errors.push({ message: `service ${s.name}: scale.autoscale.gpuUtilization requires scale.gpu.count >= 1`, path: `${auto}.gpuUtilization`, hint: 'set scale.gpu: 1' });
  }
  if (a.queueDepth) {
    const t = a.queueDepth.threshold ?? 0;
    if (Number.isNaN(t) || t <= 0) errors.push({ message: `service ${s.name}: scale.autoscale.queueDepth.threshold must be > 0`, path: `${auto}.queueDepth` });
  }
  errors.push(...modeProblems(s.name, 'cpu', a.cpu, auto));
  errors.push(...modeProblems(s.name, 'memory', a.memory, auto));
  errors.push(...modeProblems(s.name, 'gpuUtilization', a.gpuUtilization, auto));
  errors.push(...modeProblems(s.name, 'queueDepth', a.queueDepth, auto));
  (a.custom ?? []).forEach((t, i) => {
    const name = t.name ?? '';
    const path = `${auto}.custom[${i}]`;
    if (name !== '' && !NAME.test(name)) errors.push({ message: `service ${s.name}: scale.autoscale.custom[${i}].name ${JSON.stringify(name)} invalid, ${NAME_RULE}`, path });
    if (name.toLowerCase().startsWith('convox-')) errors.push({ message: `service ${s.name}: scale.autoscale.custom[${i}].name: ${JSON.stringify(name)} uses reserved prefix 'convox-'`, path, hint: 'Convox names its own triggers convox-*; pick another name' });
    if (t.authenticationRef?.kind === 'ClusterTriggerAuthentication') {
      errors.push({ message: `service ${s.name}: scale.autoscale.custom[${i}].authenticationRef.kind: ClusterTriggerAuthentication is not permitted`, path, hint: 'use a namespaced TriggerAuthentication' });
    }
  });
  const canScaleToZero = Boolean(a.gpuUtilization || a.queueDepth) || (a.custom ?? []).some((t) => !['cpu', 'memory', 'cron'].includes((t.type ?? '').toLowerCase()));
  if (min === 0 && !canScaleToZero) {
    errors.push({
      message: `service ${s.name}: scale.min: 0 combined with only always-active autoscale triggers (cpu/memory/cron) will never scale to zero; KEDA's cpu/memory/cron scalers are always active. Add scale.autoscale.queueDepth, scale.autoscale.gpuUtilization, or a scale.autoscale.custom[] prometheus/external trigger, or raise scale.min to 1.`,
      path: at,
    });
  }
  return { errors, warnings: [] };
}
