/**
 * Slipway's domain, Convox's model: an app has builds (an image per service, made from one
 * bundle) and immutable releases (a build plus an environment version plus a description).
 * Promoting a release makes it the app's current one; a rollback copies an old release forward
 * into a new one, as Convox does.
 */
import type { BuildId, ReleaseId } from './ids';

/** The bundle object a build was made from, exactly (a later upload to the same key is another version). */
export interface BundleObject {
  readonly app: string;
  readonly key: string;
  readonly version: string;
  readonly etag: string;
  readonly size: number;
}

export interface ServiceImage {
  readonly service: string;
  /** Image reference the runtime pulls, e.g. `<repo>:web.BABCDEFGHIJ` or a file path on the local rack. */
  readonly image: string;
  /** Hash of the service's build context (files after .dockerignore, Dockerfile, build args). */
  readonly contextHash: string;
  /** Convox's build hash: services with the same build settings share one image. */
  readonly buildHash: string;
  /** True when the image was reused from an earlier build with the same context hash. */
  readonly reused: boolean;
}

export type BuildStatus = 'created' | 'running' | 'complete' | 'failed';

export interface Build {
  readonly id: BuildId;
  readonly app: string;
  readonly bundle: BundleObject;
  /** The convox.yml text of the bundle. */
  readonly manifest: string;
  readonly images: readonly ServiceImage[];
  readonly status: BuildStatus;
  readonly createdAt: string;
  readonly endedAt?: string;
  /** Why the build failed, when it did. */
  readonly reason?: string;
}

export interface Release {
  readonly id: ReleaseId;
  readonly app: string;
  readonly build: BuildId;
  /** Version of the app's environment this release runs with (values live in the env store). */
  readonly envVersion: number;
  /** `build B…`, `env add:FOO change:BAR`, `rollback to R…`. */
  readonly description: string;
  readonly createdAt: string;
}

export interface AppPin {
  readonly release: ReleaseId;
  readonly by: string;
  readonly at: string;
  readonly reason: string;
}

/** A service's size set with `slipway scale`; it outlives later deploys until scaled again. */
export interface ScaleOverride {
  readonly count?: number;
  /** CPU in millicores, as in convox.yml's `scale.cpu`. */
  readonly cpu?: number;
  /** Memory in MiB, as in convox.yml's `scale.memory`. */
  readonly memory?: number;
}

export interface App {
  readonly name: string;
  readonly createdAt: string;
  /** The release serving now. */
  readonly release?: ReleaseId;
  /**
   * Set by a console rollback: while pinned, uploads wait instead of deploying, so an automated
   * upload cannot undo an emergency rollback. An operator unpins.
   */
  readonly pin?: AppPin;
  /** Sizes set with `slipway scale`, by service; they override convox.yml's `scale`. */
  readonly scale?: Readonly<Record<string, ScaleOverride>>;
}

/** Release descriptions, in Convox's words. */
export const describeRelease = {
  build: (build: BuildId): string => `build ${build}`,
  rollback: (to: ReleaseId): string => `rollback to ${to}`,
  /** `env add:A,B change:C remove:D`, keys sorted, as Convox's EnvDiff writes it. */
  env(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string {
    const keys = (o: Readonly<Record<string, string>>): string[] => Object.keys(o).sort();
    const add = keys(after).filter((k) => !(k in before));
    const change = keys(after).filter((k) => k in before && before[k] !== after[k]);
    const remove = keys(before).filter((k) => !(k in after));
    const parts = [add.length ? `add:${add.join(',')}` : '', change.length ? `change:${change.join(',')}` : '', remove.length ? `remove:${remove.join(',')}` : ''].filter(Boolean);
    return `env ${parts.join(' ')}`.trimEnd();
  },
};

/** App names as Convox allows them (they name namespaces, buckets prefixes and stacks). */
export const APP_NAME = /^[a-z][a-z0-9-]{0,62}$/;
