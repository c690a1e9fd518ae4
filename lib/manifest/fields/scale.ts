/**
 * `services.<name>.scale`: an int (`scale: 2`), a `"MIN-MAX"` string, or a map of count, cpu,
 * memory, gpu, limit, legacy `targets`, `keda`, `vpa`, and the newer `min`/`max`/`autoscale`.
 */
import type { Codec, DecodeContext } from '../decode/codec';
import { childContext, decodeValue, field, generic, goBool, goFloat, goInt, goString, list, pointer, stringMap, struct, warnEmpty, warnIgnored, warnUnknownKey } from '../decode/codec';
import { jsonObject, jsonBool, jsonFloat, jsonInt32, jsonList, jsonString, jsonStringMap, jsonStruct } from '../decode/json-codec';
import { DecodeAbort } from '../decode/session';
import type {
  AutoscaleMode,
  ScaleAutoscale,
  ScaleCount,
  ScaleExternalTarget,
  ScaleGpu,
  ScaleKeda,
  ScaleLimit,
  ScaleMetric,
  ScaleTargets,
  ScaleTrigger,
  ScaleVpa,
  ServiceScale,
  TriggerAuthenticationRef,
} from '../types';
import { goAtoi, goSprintV, goTypeName } from '../yaml/go-format';
import type { GoValue } from '../yaml/go-value';
import { keyText, lookupKey, remarshal } from '../yaml/go-value';

function atoi(text: string, value: GoValue, ctx: DecodeContext): number {
  const parsed = goAtoi(text);
  if ('error' in parsed) throw new DecodeAbort(parsed.error, value.pos, ctx.path, 'write the count as N, "MIN-MAX" or {min: N, max: M}');
  return parsed.value;
}

/** `count`: `N`, `"N"`, `"MIN-MAX"`, or `{min, max}` (ints or numeric strings). */
export const scaleCount: Codec<ScaleCount> = {
  goType: 'manifest.ServiceScaleCount',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    const out: ScaleCount = { min: 0, max: 0 };
    if (value.kind === 'int') return { min: value.value, max: value.value };
    if (value.kind === 'string') {
      const parts = value.value.split('-');
      if (parts.length === 1) {
        out.min = atoi(parts[0] ?? '', value, ctx);
        if (!(parts[0] ?? '').endsWith('+')) out.max = out.min;
      } else if (parts.length === 2) {
        out.min = atoi(parts[0] ?? '', value, ctx);
        out.max = atoi(parts[1] ?? '', value, ctx);
      } else {
        throw new DecodeAbort(`invalid scale: ${value.value}`, value.pos, ctx.path, 'write the range as "MIN-MAX", e.g. "2-10"');
      }
      return out;
    }
    if (value.kind === 'map') {
      for (const e of value.entries) {
        const k = keyText(e.key);
        if (k !== 'min' && k !== 'max') warnUnknownKey(ctx, e.key.pos, k, ['min', 'max']);
      }
      for (const bound of ['min', 'max'] as const) {
        const v = lookupKey(value, bound);
        if (v === undefined || v.kind === 'null') continue;
        if (v.kind === 'int') out[bound] = v.value;
        else if (v.kind === 'string') out[bound] = atoi(v.value, v, childContext(ctx, bound));
        else throw new DecodeAbort(`invalid scale: ${goSprintV(value)}`, v.pos, childContext(ctx, bound).path, `${bound} must be a whole number`);
      }
      return out;
    }
    throw new DecodeAbort(`invalid scale: ${goSprintV(value)}`, value.pos, ctx.path, 'write the count as N, "MIN-MAX" or {min: N, max: M}');
  },
  zero: () => undefined,
  schema: () => ({
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: '^[0-9]+(-[0-9]+)?$|^\\$\\{[^}]*\\}$' },
      { type: 'object', properties: { min: { type: ['integer', 'string'] }, max: { type: ['integer', 'string'] } }, additionalProperties: false },
    ],
  }),
};


/** `gpu`: a count, or `{count, vendor}`; values of the wrong type are dropped. */
export const scaleGpu: Codec<ScaleGpu> = {
  goType: 'manifest.ServiceScaleGpu',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    if (value.kind === 'int') return { count: value.value };
    if (value.kind === 'map') {
      const out: ScaleGpu = {};
      for (const e of value.entries) {
        const k = keyText(e.key);
        const sub = childContext(ctx, k);
        if (k === 'count') {
          if (e.value.kind === 'int') out.count = e.value.value;
          else if (e.value.kind !== 'null') warnIgnored(sub, e.value, 'a whole number');
        } else if (k === 'vendor') {
          if (e.value.kind === 'string') out.vendor = e.value.value;
          else if (e.value.kind !== 'null') warnIgnored(sub, e.value, 'a string (nvidia or amd)');
        } else warnUnknownKey(ctx, e.key.pos, k, ['count', 'vendor']);
      }
      return out;
    }
    throw new DecodeAbort(`unknown type for service scale gpu: ${goTypeName(value)}`, value.pos, ctx.path, 'write gpu: N or gpu: {count: N, vendor: nvidia}');
  },
  zero: () => undefined,
  schema: () => ({
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'object', properties: { count: { type: 'integer', minimum: 0 }, vendor: { type: 'string', examples: ['nvidia', 'amd'] } }, additionalProperties: false },
    ],
  }),
};

const scaleLimit = struct<ScaleLimit>(
  'manifest.ServiceResourceLimit',
  {
    cpu: field(goInt, 'CPU limit in millicores; must not be below the request.'),
    memory: field(goInt, 'Memory limit in MiB; must not be below the request.'),
  },
  { defName: 'scaleLimit' },
);

const scaleMetric = struct<Omit<ScaleMetric, 'namespace' | 'name'>>(
  'manifest.ServiceScaleMetric',
  {
    aggregate: field(goString, 'Statistic to scale on, e.g. max or avg.'),
    dimensions: field(stringMap(), 'Metric dimensions.'),
    value: field(goFloat, 'Target value.'),
  },
  { defName: 'scaleMetric' },
);

/** Legacy `targets.custom`: a map `"Namespace/Metric": {aggregate, dimensions, value}`. */
const scaleMetrics: Codec<ScaleMetric[]> = {
  goType: 'manifest.ServiceScaleMetrics',
  decode(value, ctx) {
    if (value.kind !== 'map') {
      ctx.session.typeError(value, ctx.path, 'map[string]manifest.ServiceScaleMetric', 'a map of "Namespace/Metric" to settings');
      return [];
    }
    const out: ScaleMetric[] = [];
    for (const e of value.entries) {
      const key = keyText(e.key);
      const parts = key.split('/');
      const decoded = decodeValue(scaleMetric, e.value, childContext(ctx, key), undefined) ?? {};
      out.push({ ...decoded, namespace: parts.slice(0, -1).join('/'), name: parts[parts.length - 1] ?? '' });
    }
    return out;
  },
  zero: () => undefined,
  schema: (r) => ({ type: 'object', additionalProperties: scaleMetric.schema(r) }),
};

const externalTarget = struct<ScaleExternalTarget>(
  'manifest.ServiceScaleExternalTarget',
  {
    name: field(goString, 'External metric name, e.g. datadogmetric@default:queue-depth.'),
    averageValue: field(pointer(goFloat), 'Target average value per replica.'),
    value: field(pointer(goFloat), 'Target total value.'),
    matchLabels: field(stringMap(), 'Metric label selector.'),
  },
  { defName: 'scaleExternalTarget' },
);

const scaleTargets = struct<ScaleTargets>(
  'manifest.ServiceScaleTargets',
  {
    cpu: field(goInt, 'Target CPU utilisation in percent for the horizontal autoscaler.'),
    memory: field(goInt, 'Target memory utilisation in percent.'),
    requests: field(goInt, 'Target requests per second (AWS v2 racks only; unused on Kubernetes).'),
    custom: field(scaleMetrics, 'CloudWatch metrics (AWS v2 racks only; unused on Kubernetes).'),
    external: field(list(externalTarget, '[]manifest.ServiceScaleExternalTarget'), 'External metrics for the horizontal autoscaler.'),
  },
  { defName: 'scaleTargets' },
);

const vpa = struct<ScaleVpa>(
  'manifest.VPA',
  {
    updateMode: field(goString, 'Off, Initial or Recreate.'),
    minCpu: field(pointer(goString), 'Lowest CPU the recommender may set.'),
    maxCpu: field(pointer(goString), 'Highest CPU the recommender may set.'),
    minMem: field(pointer(goString), 'Lowest memory the recommender may set.'),
    maxMem: field(pointer(goString), 'Highest memory the recommender may set.'),
    cpuOnly: field(pointer(goBool), 'Only manage CPU.'),
    memOnly: field(pointer(goBool), 'Only manage memory.'),
    updateRequestOnly: field(pointer(goBool), 'Only update requests, not limits.'),
  },
  { defName: 'vpa' },
);

const triggerAuthRef = jsonStruct<TriggerAuthenticationRef>(
  'v1alpha1.AuthenticationRef',
  { name: field(jsonString, 'TriggerAuthentication name.'), kind: field(jsonString, 'TriggerAuthentication (ClusterTriggerAuthentication is refused).') },
  { defName: 'triggerAuthenticationRef' },
);

const scaleTrigger = jsonStruct<ScaleTrigger>(
  'v1alpha1.ScaleTriggers',
  {
    type: field(jsonString, 'KEDA scaler type, e.g. prometheus, aws-sqs-queue, cron.'),
    name: field(jsonString, 'Trigger name (lower case, digits and dashes; not starting with convox-).'),
    metadata: field(jsonStringMap, 'Scaler settings; every value is a string.'),
    authenticationRef: field(triggerAuthRef, 'Credentials for the scaler.'),
    metricType: field(jsonString, 'AverageValue, Value or Utilization.'),
    useCachedMetrics: field(jsonBool, 'Serve metrics from KEDA\u2019s cache.'),
  },
  { defName: 'scaleTrigger' },
);

const keda = jsonStruct<ScaleKeda>(
  'manifest.ServiceScaleKeda',
  {
    pollingInterval: field(jsonInt32, 'Seconds between trigger checks.'),
    initialCooldownPeriod: field(jsonInt32, 'Seconds before the first scale to zero.'),
    cooldownPeriod: field(jsonInt32, 'Seconds after the last active trigger before scaling to zero.'),
    idleReplicaCount: field(jsonInt32, 'Replicas while no trigger is active.'),
    advanced: field(jsonObject('v1alpha1.AdvancedConfig'), 'KEDA advanced settings, passed through.'),
    fallback: field(jsonObject('v1alpha1.Fallback'), 'KEDA fallback settings, passed through.'),
    triggers: field(jsonList(scaleTrigger), 'KEDA triggers.'),
  },
  { defName: 'keda' },
);

const autoscaleMode = jsonStruct<AutoscaleMode>(
  'manifest.AutoscaleMode',
  {
    mode: field(jsonString, 'Filled in by Convox: threshold, or queue for queueDepth.'),
    threshold: field(jsonFloat, 'Target value that triggers scaling.'),
    metricName: field(jsonString, 'Prometheus metric name.'),
    prometheusUrl: field(jsonString, 'Prometheus server URL (http or https).'),
    query: field(jsonString, 'PromQL query; defaults to max(metric{app,service}).'),
  },
  { defName: 'autoscaleMode' },
);

const autoscale = jsonStruct<ScaleAutoscale>(
  'manifest.ServiceAutoscale',
  {
    cpu: field(autoscaleMode, 'Scale on CPU utilisation (percent, 1-100).'),
    memory: field(autoscaleMode, 'Scale on memory utilisation (percent, 1-100).'),
    gpuUtilization: field(autoscaleMode, 'Scale on GPU utilisation from Prometheus (needs scale.gpu.count).'),
    queueDepth: field(autoscaleMode, 'Scale on a queue-depth metric from Prometheus; can scale to zero.'),
    custom: field(jsonList(scaleTrigger), 'Further KEDA triggers.'),
    cooldownPeriod: field(jsonInt32, 'Seconds to wait before scaling down.'),
    pollingInterval: field(jsonInt32, 'Seconds between metric checks.'),
  },
  { defName: 'autoscale' },
);

type ScaleKey = keyof ServiceScale;

/**
 * Every key of `scale`, documented, in the order Convox's decoder reads them (the order decides
 * only which error wins). Typed as a record so a key added to ServiceScale must be added here.
 */
const SCALE_DOCS: Record<ScaleKey, string> = {
  count: 'Number of processes: N, "MIN-MAX" or {min, max}. A range with targets makes an autoscaler.',
  cpu: 'CPU request in millicores.',
  gpu: 'GPUs per process: N or {count, vendor}.',
  memory: 'Memory request in MiB.',
  targets: 'Legacy autoscale targets (cpu/memory percent, external metrics).',
  keda: 'A KEDA ScaledObject for this service.',
  vpa: 'Vertical pod autoscaler settings.',
  limit: 'CPU and memory limits.',
  min: 'Lowest number of processes (with autoscale).',
  max: 'Highest number of processes (with autoscale).',
  autoscale: 'Autoscaling on cpu, memory, gpuUtilization, queueDepth or custom KEDA triggers.',
};

const SCALE_KEYS = Object.keys(SCALE_DOCS) as readonly ScaleKey[];

const subCodecs = { count: scaleCount, gpu: scaleGpu, targets: scaleTargets, keda, vpa, limit: scaleLimit, autoscale } as const;

export const serviceScale: Codec<ServiceScale> = {
  goType: 'manifest.ServiceScale',
  decode(raw, ctx, previous) {
    const value = generic(raw, ctx);
    const out: ServiceScale = { ...(previous ?? {}) };
    if (value.kind === 'int') return { ...out, count: { min: value.value, max: value.value } };
    if (value.kind === 'string') return { ...out, count: scaleCount.decode(remarshal(value), ctx, undefined) };
    if (value.kind !== 'map') {
      throw new DecodeAbort(`unknown type for service scale: ${goTypeName(value)}`, value.pos, ctx.path, 'write scale: N, scale: "MIN-MAX", or a map with count, cpu and memory');
    }
    const byKey = new Map<string, GoValue>();
    for (const e of value.entries) {
      const k = keyText(e.key);
      if (!(SCALE_KEYS as readonly string[]).includes(k)) warnUnknownKey(ctx, e.key.pos, k, SCALE_KEYS);
      else {
        byKey.set(k, e.value);
        if (e.value.kind === 'null' && k !== 'autoscale') warnEmpty(childContext(ctx, k), e.key.pos);
      }
    }
    for (const key of SCALE_KEYS) {
      const v = byKey.get(key);
      if (v === undefined) continue;
      const sub = childContext(ctx, key);
      if (key === 'autoscale') {
        // The key alone makes a (disabled) autoscale block, even when its value is empty.
        out.autoscale = v.kind === 'null' ? {} : autoscale.decode(remarshal(v), sub, undefined);
        continue;
      }
      if (v.kind === 'null') continue;
      switch (key) {
        case 'cpu':
        case 'memory':
        case 'min':
        case 'max':
          if (v.kind === 'int') out[key] = v.value;
          else if (v.kind === 'float' && Number.isInteger(v.value) && (key === 'min' || key === 'max')) out[key] = v.value;
          else warnIgnored(sub, v, 'a whole number', key === 'cpu' ? 'write the CPU request in millicores as a number, e.g. cpu: 512' : key === 'memory' ? 'write the memory request in MiB as a number, e.g. memory: 1024' : undefined);
          break;
        case 'vpa': {
          const decoded = vpa.decode(remarshal(v), sub, undefined);
          if (decoded.updateMode === 'false') decoded.updateMode = 'Off';
          out.vpa = decoded;
          break;
        }
        default: {
          const codec = subCodecs[key] as Codec<unknown>;
          (out as Record<string, unknown>)[key] = codec.decode(remarshal(v), sub, undefined);
        }
      }
    }
    return out;
  },
  zero: () => undefined,
  schema: (r) =>
    r.ref('scale', () => ({
      anyOf: [
        { type: 'integer', minimum: 0, description: 'A fixed number of processes.' },
        { type: 'string', pattern: '^[0-9]+(-[0-9]+)?$|^\\$\\{[^}]*\\}$', description: 'A fixed count, or a "MIN-MAX" range.' },
        {
          type: 'object',
          properties: {
            count: { ...scaleCount.schema(r), description: SCALE_DOCS.count },
            cpu: { type: 'integer', minimum: 0, description: SCALE_DOCS.cpu, default: 250 },
            memory: { type: 'integer', minimum: 0, description: SCALE_DOCS.memory, default: 512 },
            gpu: { ...scaleGpu.schema(r), description: SCALE_DOCS.gpu },
            limit: { allOf: [scaleLimit.schema(r)], description: SCALE_DOCS.limit },
            targets: { allOf: [scaleTargets.schema(r)], description: SCALE_DOCS.targets },
            keda: { allOf: [keda.schema(r)], description: SCALE_DOCS.keda },
            vpa: { allOf: [vpa.schema(r)], description: SCALE_DOCS.vpa },
            min: { type: 'integer', minimum: 0, description: SCALE_DOCS.min },
            max: { type: 'integer', minimum: 0, description: SCALE_DOCS.max },
            autoscale: { anyOf: [autoscale.schema(r), { type: 'null' }], description: SCALE_DOCS.autoscale },
          },
          additionalProperties: false,
        },
      ],
    })),
};
