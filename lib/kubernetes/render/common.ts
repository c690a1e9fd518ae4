/**
 * What every part of the renderer shares: its error, the labels objects carry, and the helpers
 * that keep output deterministic (sorted maps, no undefined fields).
 */
import { SlipwayError } from '../../errors';
import type { KubernetesObject, KubernetesRackSettings } from '../objects';
import { namespaceOf, SLIPWAY_LABELS } from '../objects';

/** A release the renderer cannot express as Kubernetes objects; the message says what to change. */
export class RenderError extends SlipwayError {
  constructor(message: string, code: 'IMAGE_MISSING' | 'SERVICE_MISSING' | 'CREDENTIALS_MISSING' | 'INTERNAL_ROUTER_MISSING' | 'RESOURCE_TYPE_UNKNOWN', context: Record<string, unknown> = {}) {
    super(message, code, context);
  }
}

/**
 * What kind of process a pod is. Selectors of Services and workloads include it, so a timer's or
 * a one-off run's pods (which carry their service's label too) never receive a service's traffic.
 */
export const PROCESS_TYPE_LABEL = SLIPWAY_LABELS.type;
export type ProcessType = 'service' | 'job' | 'resource';

export interface LabelScope {
  readonly app: string;
  readonly service?: string;
  readonly resource?: string;
  readonly release?: string;
  readonly timer?: string;
  readonly type?: ProcessType;
}

/** The labels of an object of `scope`, with keys sorted. */
export function slipwayLabels(scope: LabelScope, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const labels: Record<string, string> = { ...extra, [SLIPWAY_LABELS.managedBy]: 'slipway', [SLIPWAY_LABELS.app]: scope.app };
  if (scope.service !== undefined) labels[SLIPWAY_LABELS.service] = scope.service;
  if (scope.resource !== undefined) labels[SLIPWAY_LABELS.resource] = scope.resource;
  if (scope.release !== undefined) labels[SLIPWAY_LABELS.release] = scope.release;
  if (scope.timer !== undefined) labels[SLIPWAY_LABELS.timer] = scope.timer;
  if (scope.type !== undefined) labels[PROCESS_TYPE_LABEL] = scope.type;
  return sortedRecord(labels);
}

/**
 * The labels that select a service's or a resource's pods. They never include the release: a
 * workload's selector cannot change once it exists.
 */
export function selectorLabels(scope: Pick<LabelScope, 'app' | 'service' | 'resource' | 'type'>): Record<string, string> {
  return slipwayLabels({ app: scope.app, ...(scope.service !== undefined ? { service: scope.service } : {}), ...(scope.resource !== undefined ? { resource: scope.resource } : {}), ...(scope.type ? { type: scope.type } : {}) });
}

export function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as T;
  return out;
}

/** The object with `undefined` fields and empty optional maps removed, recursively. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => compact(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[k] = compact(v);
    }
    return out as T;
  }
  return value;
}

/** Rendering context of one app on one rack. */
export interface AppContext {
  readonly rack: KubernetesRackSettings;
  readonly app: string;
  readonly namespace: string;
}

export function appContext(rack: KubernetesRackSettings, app: string): AppContext {
  return { rack, app, namespace: namespaceOf(rack.name, app) };
}

export function namespaceObject(ctx: AppContext): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ctx.namespace, labels: slipwayLabels({ app: ctx.app }) } };
}

/** `key=value` annotations as Convox's timers and balancers write them (an entry without `=` has an empty value). */
export function annotationMap(entries: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const at = entry.indexOf('=');
    if (at < 0) out[entry] = '';
    else out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}

/** The name of the Secret holding a service's environment (Convox's). */
export function envSecretName(service: string): string {
  return `env-${service}`;
}
