/**
 * `slipway render`: the Kubernetes objects a deploy of a convox.yml would apply, as YAML, without
 * a cluster or a build. Secret values are masked unless asked for; images that a build would make
 * and credentials the rack would generate are shown as placeholders.
 */
import { basename, dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { SlipwayError } from '../../errors';
import type { Manifest } from '../../manifest';
import type { KubernetesObject, ResourceCredentials } from '../../kubernetes/objects';
import { isContainerised, isExternal, renderRelease } from '../../kubernetes/render';
import type { ReleaseId } from '../../pipeline/domain/ids';
import { RELEASE_ID } from '../../pipeline/domain/ids';
import { APP_NAME } from '../../pipeline/domain/model';
import type { ServiceImage } from '../../pipeline/domain/model';
import { readEnv } from '../env-input';
import type { CliIO } from '../io';
import type { ManifestInput } from './manifest';
import { loadValidated } from './manifest';

export interface RenderInput extends ManifestInput {
  readonly app?: string;
  readonly release?: string;
  readonly rack?: string;
  readonly showSecrets: boolean;
}

/** What a masked Secret value prints as. */
export const MASK = '********';
const PREVIEW_RELEASE: ReleaseId = 'RXXXXXXXXXX';
const DEFAULT_RACK = 'slipway';
const PLACEHOLDER_PASSWORD = 'generated-at-first-deploy';

/** The app name: `--app`, else the name of the folder the manifest is in. */
function appName(io: CliIO, input: RenderInput): string {
  const app = input.app ?? basename(dirname(resolve(io.cwd, input.file)));
  if (!APP_NAME.test(app)) {
    throw new SlipwayError(`"${app}" is not an app name (lower-case letters, digits and dashes, starting with a letter, at most 63 characters)${input.app === undefined ? ': the manifest\u2019s folder gives it, pass --app NAME' : ''}`, 'USAGE');
  }
  return app;
}

function releaseId(value: string | undefined): ReleaseId {
  if (value === undefined) return PREVIEW_RELEASE;
  if (!RELEASE_ID.test(value)) throw new SlipwayError(`--release ${value} is not a release id (R and ten upper-case letters, e.g. RABCDEFGHIJ)`, 'USAGE');
  return value as ReleaseId;
}

/** Services built from source get `<app>/<service>:<release>`; `image:` services show the image they pull. */
function placeholderImages(manifest: Manifest, app: string, release: string): ServiceImage[] {
  return manifest.services.map((s) => ({ service: s.name, image: s.image !== '' ? s.image : `${app}/${s.name}:${release}`, contextHash: '', buildHash: '', reused: false }));
}

function placeholderCredentials(manifest: Manifest, env: Readonly<Record<string, string>>): Record<string, ResourceCredentials> {
  const out: Record<string, ResourceCredentials> = {};
  for (const r of manifest.resources) {
    if (isContainerised(r.type) && !isExternal(r.name, env)) out[r.name] = { user: 'app', password: PLACEHOLDER_PASSWORD, database: 'app' };
  }
  return out;
}

function masked(object: KubernetesObject): KubernetesObject {
  if (object.kind !== 'Secret') return object;
  const out: KubernetesObject = { ...object };
  for (const field of ['data', 'stringData']) {
    const values = object[field];
    if (values && typeof values === 'object') out[field] = Object.fromEntries(Object.keys(values).map((k) => [k, MASK]));
  }
  return out;
}

export function renderCommand(io: CliIO, input: RenderInput): void {
  const loaded = loadValidated(io, input);
  const env = readEnv({ env: input.env ?? [], envFile: input.envFile ?? [] });
  const app = appName(io, input);
  const release = releaseId(input.release);
  const rack = input.rack ?? DEFAULT_RACK;
  const { manifest } = loaded;
  const objects = renderRelease({
    rack: { name: rack },
    app,
    release: { id: release, app, build: 'BXXXXXXXXXX', envVersion: 0, description: 'slipway render', createdAt: '' },
    manifest,
    images: placeholderImages(manifest, app, release),
    env,
    resourceCredentials: placeholderCredentials(manifest, env),
  });
  const header = [
    `# The Kubernetes objects a deploy of ${loaded.source.file} as app ${app}, release ${release}, on rack ${rack} would apply.`,
    `# Images are placeholders until a build makes them: <app>/<service>:<release> (e.g. ${app}/<service>:${release}).`,
    `# Resource credentials are placeholders: the rack generates them on the first deploy and keeps them.`,
    input.showSecrets ? '# Secret values are shown (--show-secrets).' : `# Secret values are masked (${MASK}); --show-secrets prints them.`,
  ];
  const documents = (input.showSecrets ? objects : objects.map(masked)).map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }));
  io.stdout.write(`${header.join('\n')}\n${documents.join('---\n')}`);
}
