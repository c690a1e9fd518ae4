/**
 * Checks rendered objects before any reaches a cluster: each kind's schema, fields the kind does
 * not have, and the API server's rules on names, labels and keys that the schema leaves out.
 *
 *   const problems = validateObjects(objects);   // [] when every object would be accepted
 *   assertValidObjects(objects);                 // throws InvalidObjectsError listing them
 */
import { SlipwayError } from '../../errors';
import type { KubernetesObject } from '../objects';
import type { NameRule } from './names';
import { configKeyProblem, keyProblem, labelValueProblem, nameProblem, portNameProblem } from './names';
import type { FieldProblem } from './schema';
import { knownKind, schemaProblems, supportedKinds, unknownFields } from './schema';

export interface ObjectProblem {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Field path inside the object, e.g. `spec.template.spec.containers[0].name`. */
  readonly path: string;
  readonly message: string;
}

/** `Deployment shop/web spec.replicas: must be integer` */
export function formatProblem(p: ObjectProblem): string {
  return `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}${p.path ? ` ${p.path}` : ''}: ${p.message}`;
}

export class InvalidObjectsError extends SlipwayError {
  constructor(readonly problems: readonly ObjectProblem[]) {
    super(`${problems.length} rendered Kubernetes object problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`, 'KUBERNETES_OBJECTS_INVALID', { count: problems.length });
  }
}

/**
 * The rule for each kind's name. Jobs and StatefulSets are held to 63 characters although the API
 * takes subdomains: their names become label values on their pods, which cannot be longer.
 */
const NAME_RULES: Readonly<Record<string, NameRule>> = {
  Namespace: 'dns-label',
  Service: 'dns-1035-label',
  Job: 'dns-label',
  StatefulSet: 'dns-label',
};

type Record_ = Record<string, unknown>;

const isRecord = (v: unknown): v is Record_ => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (path: string, field: string): string => (path === '' ? field : `${path}.${field}`);

function checkLabels(labels: unknown, path: string, out: FieldProblem[]): void {
  if (!isRecord(labels)) return;
  for (const [key, value] of Object.entries(labels)) {
    const problem = keyProblem(key) ?? (typeof value === 'string' ? labelValueProblem(value) : undefined);
    if (problem) out.push({ path: at(path, key), message: `label ${problem}` });
  }
}

function checkMetadata(metadata: unknown, path: string, out: FieldProblem[]): void {
  if (!isRecord(metadata)) return;
  checkLabels(metadata.labels, at(path, 'labels'), out);
  if (isRecord(metadata.annotations)) {
    for (const key of Object.keys(metadata.annotations)) {
      const problem = keyProblem(key);
      if (problem) out.push({ path: at(at(path, 'annotations'), key), message: `annotation ${problem}` });
    }
  }
}

function checkNamed(items: unknown, path: string, rule: (name: string) => string | undefined, out: FieldProblem[]): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(items)) return names;
  items.forEach((item, i) => {
    if (!isRecord(item) || typeof item.name !== 'string') return;
    const problem = rule(item.name);
    if (problem) out.push({ path: `${path}[${i}].name`, message: problem });
    if (names.has(item.name)) out.push({ path: `${path}[${i}].name`, message: `"${item.name}" is used twice` });
    names.add(item.name);
  });
  return names;
}

/** `claims`: the volumes a StatefulSet's volumeClaimTemplates give each pod. */
function checkPodSpec(spec: Record_, path: string, claims: ReadonlySet<string>, out: FieldProblem[]): void {
  const volumes = new Set([...checkNamed(spec.volumes, at(path, 'volumes'), (n) => nameProblem(n, 'dns-label'), out), ...claims]);
  for (const list of ['initContainers', 'containers'] as const) {
    const containers = spec[list];
    checkNamed(containers, at(path, list), (n) => nameProblem(n, 'dns-label'), out);
    if (!Array.isArray(containers)) continue;
    containers.forEach((c, i) => {
      if (!isRecord(c)) return;
      const cpath = `${at(path, list)}[${i}]`;
      checkNamed(c.ports, at(cpath, 'ports'), portNameProblem, out);
      if (!Array.isArray(c.volumeMounts)) return;
      c.volumeMounts.forEach((m, j) => {
        if (isRecord(m) && typeof m.name === 'string' && !volumes.has(m.name)) out.push({ path: `${at(cpath, 'volumeMounts')}[${j}].name`, message: `mounts "${m.name}", which is not a volume of the pod` });
      });
    });
  }
}

/** Names, labels and keys anywhere in the object: metadata, selectors, pod templates. */
function walk(value: unknown, path: string, claims: ReadonlySet<string>, out: FieldProblem[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`, claims, out));
    return;
  }
  if (!isRecord(value)) return;
  if (path !== '' && 'metadata' in value) checkMetadata(value.metadata, at(path, 'metadata'), out);
  if ('matchLabels' in value) checkLabels(value.matchLabels, at(path, 'matchLabels'), out);
  if (Array.isArray(value.containers)) checkPodSpec(value, path, claims, out);
  for (const [k, v] of Object.entries(value)) if (k !== 'metadata') walk(v, at(path, k), claims, out);
}

function objectProblems(object: KubernetesObject): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (!knownKind(object.apiVersion, object.kind)) {
    return [{ path: '', message: `${object.apiVersion} ${object.kind} is not a kind the validator knows (${supportedKinds().join(', ')})` }];
  }
  out.push(...schemaProblems(object), ...unknownFields(object));
  const metadata = object.metadata as unknown;
  if (isRecord(metadata)) {
    if (typeof metadata.name === 'string') {
      const problem = nameProblem(metadata.name, NAME_RULES[object.kind] ?? 'dns-subdomain');
      if (problem) out.push({ path: 'metadata.name', message: problem });
    }
    if (typeof metadata.namespace === 'string') {
      const problem = nameProblem(metadata.namespace, 'dns-label');
      if (problem) out.push({ path: 'metadata.namespace', message: problem });
    }
    checkMetadata(metadata, 'metadata', out);
  }
  if (object.kind === 'Secret') {
    for (const field of ['data', 'stringData']) {
      const data = object[field];
      if (!isRecord(data)) continue;
      for (const key of Object.keys(data)) {
        const problem = configKeyProblem(key);
        if (problem) out.push({ path: at(field, key), message: problem });
      }
    }
  }
  const spec = object.spec;
  if (isRecord(spec)) {
    if (object.kind === 'Service') {
      checkLabels(spec.selector, 'spec.selector', out);
      checkNamed(spec.ports, 'spec.ports', (n) => nameProblem(n, 'dns-label'), out);
    }
    const claims = new Set<string>();
    if (Array.isArray(spec.volumeClaimTemplates)) {
      for (const claim of spec.volumeClaimTemplates as unknown[]) if (isRecord(claim) && isRecord(claim.metadata) && typeof claim.metadata.name === 'string') claims.add(claim.metadata.name);
    }
    walk(spec, 'spec', claims, out);
  }
  return out;
}

export function validateObjects(objects: readonly KubernetesObject[]): ObjectProblem[] {
  const problems: ObjectProblem[] = [];
  const seen = new Set<string>();
  for (const object of objects) {
    const name = typeof object.metadata?.name === 'string' ? object.metadata.name : '';
    const namespace = typeof object.metadata?.namespace === 'string' ? object.metadata.namespace : undefined;
    const where = { kind: object.kind, ...(namespace !== undefined ? { namespace } : {}), name };
    const identity = `${object.apiVersion}/${object.kind}/${namespace ?? ''}/${name}`;
    if (seen.has(identity)) problems.push({ ...where, path: 'metadata.name', message: 'another object of this kind has the same name' });
    seen.add(identity);
    for (const p of objectProblems(object)) problems.push({ ...where, ...p });
  }
  return problems;
}

export function assertValidObjects(objects: readonly KubernetesObject[]): void {
  const problems = validateObjects(objects);
  if (problems.length > 0) throw new InvalidObjectsError(problems);
}
