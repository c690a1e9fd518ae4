/**
 * Schema checks: each kind's OpenAPI schema (kubernetes-models), and the fields each type knows
 * (the API types of @kubernetes/client-node), since the schema lets unknown fields through and the
 * API server drops them silently (or, with strict field validation, refuses the object).
 */
import * as k8s from '@kubernetes/client-node';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** A problem inside one object: where (a field path such as `spec.template.spec.containers[0].name`) and what. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

interface SchemaModel {
  validate(): void;
}

interface KindEntry {
  readonly model: new (data: never) => SchemaModel;
  /** The client's name of the kind's type, the root of its known fields. */
  readonly type: string;
}

/** Every kind the renderer produces. */
const KINDS: Readonly<Record<string, KindEntry>> = {
  'v1/Namespace': { model: Namespace, type: 'V1Namespace' },
  'v1/Secret': { model: Secret, type: 'V1Secret' },
  'v1/ServiceAccount': { model: ServiceAccount, type: 'V1ServiceAccount' },
  'v1/Service': { model: Service, type: 'V1Service' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, type: 'V1PersistentVolumeClaim' },
  'apps/v1/Deployment': { model: Deployment, type: 'V1Deployment' },
  'apps/v1/DaemonSet': { model: DaemonSet, type: 'V1DaemonSet' },
  'apps/v1/StatefulSet': { model: StatefulSet, type: 'V1StatefulSet' },
  'networking.k8s.io/v1/Ingress': { model: Ingress, type: 'V1Ingress' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, type: 'V2HorizontalPodAutoscaler' },
  'batch/v1/Job': { model: Job, type: 'V1Job' },
};

export function knownKind(apiVersion: string, kind: string): boolean {
  return Object.hasOwn(KINDS, `${apiVersion}/${kind}`);
}

export function supportedKinds(): string[] {
  return Object.keys(KINDS);
}

interface AjvError {
  readonly instancePath: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** `/spec/containers/0/name` → `spec.containers[0].name`. */
export function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function join(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** What the kind's OpenAPI schema says is wrong with the object. */
export function schemaProblems(object: { apiVersion: string; kind: string }): FieldProblem[] {
  const entry = KINDS[`${object.apiVersion}/${object.kind}`];
  if (!entry) return [];
  try {
    new entry.model(object as never).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) throw e;
    return errors.map((err) => {
      const path = fieldPath(err.instancePath);
      const missing = err.params?.missingProperty;
      return typeof missing === 'string' ? { path: join(path, missing), message: 'is required' } : { path, message: err.message ?? 'does not match the schema' };
    });
  }
}

interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

function attributesOf(type: string): readonly Attribute[] | undefined {
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>)[type];
  return typeof model?.getAttributeTypeMap === 'function' ? model.getAttributeTypeMap() : undefined;
}

function unknownFieldsOf(value: unknown, type: string, path: string, out: FieldProblem[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFieldsOf(v, array[1] ?? 'any', `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value as Record<string, unknown>)) unknownFieldsOf(v, map[1] ?? 'any', join(path, k), out);
    return;
  }
  const attributes = attributesOf(type);
  // Scalars, IntOrString, Date and free-form fields have no fields to check; the schema checks their types.
  if (!attributes || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    const attribute = attributes.find((a) => a.baseName === field);
    if (!attribute) out.push({ path: join(path, field), message: `is not a field of ${type.replace(/^V\d+(beta\d+|alpha\d+)?/, '')}` });
    else unknownFieldsOf(v, attribute.type, join(path, field), out);
  }
}

/** Fields the object's kind does not have (a typo, or a field of a newer API version). */
export function unknownFields(object: { apiVersion: string; kind: string }): FieldProblem[] {
  const entry = KINDS[`${object.apiVersion}/${object.kind}`];
  if (!entry) return [];
  const out: FieldProblem[] = [];
  unknownFieldsOf(object, entry.type, '', out);
  return out;
}
