/** Render inputs the Kubernetes tests share: a rack, placeholder images and fixed credentials. */
import { stringify } from 'yaml';
import type { Manifest } from '../../lib/manifest';
import { loadManifest } from '../../lib/manifest';
import type { KubernetesObject, KubernetesRackSettings, RenderInput, ResourceCredentials } from '../../lib/kubernetes/objects';
import { isContainerised, renderRelease } from '../../lib/kubernetes/render';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';

export const RACK: KubernetesRackSettings = { name: 'prod', domain: 'example.com', internalIngressClass: 'alb', storageClass: 'gp3' };
export const RELEASE: ReleaseId = 'RGOLDENAAAA';

export function credentialsFor(manifest: Manifest): Record<string, ResourceCredentials> {
  const out: Record<string, ResourceCredentials> = {};
  for (const r of manifest.resources) if (isContainerised(r.type)) out[r.name] = { user: 'app', password: `password-of-${r.name}`, database: 'app' };
  return out;
}

export function renderInput(text: string, options: { app?: string; env?: Record<string, string>; rack?: KubernetesRackSettings } = {}): RenderInput {
  const app = options.app ?? 'shop';
  const env = options.env ?? {};
  const { manifest } = loadManifest(text, { env });
  return {
    rack: options.rack ?? RACK,
    app,
    release: { id: RELEASE, app, build: 'BGOLDENAAAA', envVersion: 1, description: 'build BGOLDENAAAA', createdAt: '2026-01-01T00:00:00.000Z' },
    manifest,
    images: manifest.services.map((s) => ({ service: s.name, image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${app}:${s.name}.BGOLDENAAAA`, contextHash: 'c', buildHash: 'b', reused: false })),
    env,
    resourceCredentials: credentialsFor(manifest),
  };
}

export function render(text: string, options: Parameters<typeof renderInput>[1] = {}): KubernetesObject[] {
  return renderRelease(renderInput(text, options));
}

export function find(objects: readonly KubernetesObject[], kind: string, name: string): KubernetesObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export function toYaml(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** A field deep inside an object, by dotted path with [n] indexes (`spec.template.spec.containers[0]`). */
export function at(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split(/\.|(?=\[)/)) {
    if (v === undefined || v === null) return undefined;
    const index = /^\[(\d+)\]$/.exec(part);
    v = index ? (v as unknown[])[Number(index[1])] : (v as Record<string, unknown>)[part];
  }
  return v;
}
