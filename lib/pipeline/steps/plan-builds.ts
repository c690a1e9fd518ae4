/**
 * Plan builds: which images a release needs built. Services whose build contexts hash the same
 * share one build (Convox builds once per distinct build setting); a context whose hash already
 * has an image from an earlier build of the app is not rebuilt; services with an `image:` pull it.
 */
import type { Manifest } from '../../manifest';
import { hashBuildContext } from '../build/context';
import type { ReleaseStore } from '../stores/release-store';

export interface BuildUnit {
  readonly contextHash: string;
  readonly path: string;
  readonly manifest: string;
  readonly args: readonly string[];
  readonly services: readonly string[];
  readonly files: number;
  readonly bytes: number;
}

export interface ReusedImage {
  readonly service: string;
  readonly image: string;
  readonly contextHash: string;
  readonly fromBuild: string;
}

export interface BuildPlan {
  readonly builds: readonly BuildUnit[];
  readonly reused: readonly ReusedImage[];
  readonly pulled: readonly { readonly service: string; readonly image: string }[];
}

/** The newest image an earlier complete build of the app made from a context with this hash. */
export async function findImage(store: ReleaseStore, app: string, contextHash: string): Promise<{ image: string; build: string } | undefined> {
  for (const build of await store.listBuilds(app)) {
    if (build.status !== 'complete') continue;
    const found = build.images.find((i) => i.contextHash === contextHash);
    if (found) return { image: found.image, build: build.id };
  }
  return undefined;
}

export async function planBuilds(input: { app: string; bundleDir: string; manifest: Manifest }, store: ReleaseStore): Promise<BuildPlan> {
  const units = new Map<string, Omit<BuildUnit, 'services'> & { services: string[] }>();
  const reused: ReusedImage[] = [];
  const pulled: { service: string; image: string }[] = [];
  for (const s of input.manifest.services) {
    if (s.image !== '') {
      pulled.push({ service: s.name, image: s.image });
      continue;
    }
    const settings = { path: s.build.path, manifest: s.build.manifest, args: s.build.args ?? [] };
    const context = await hashBuildContext(input.bundleDir, settings);
    const existing = units.get(context.hash);
    if (existing) {
      existing.services.push(s.name);
      continue;
    }
    const previous = await findImage(store, input.app, context.hash);
    if (previous) {
      reused.push({ service: s.name, image: previous.image, contextHash: context.hash, fromBuild: previous.build });
      continue;
    }
    units.set(context.hash, { contextHash: context.hash, ...settings, services: [s.name], files: context.files, bytes: context.bytes });
  }
  // A later service can share a context with an earlier reused one.
  const reusedByHash = new Map(reused.map((r) => [r.contextHash, r]));
  for (const [hash, unit] of units) {
    const r = reusedByHash.get(hash);
    if (r) {
      for (const service of unit.services) reused.push({ ...r, service });
      units.delete(hash);
    }
  }
  return { builds: [...units.values()], reused, pulled };
}
