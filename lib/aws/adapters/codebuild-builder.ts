/**
 * The AWS rack's builder: one CodeBuild build per build unit, running the generated buildspec
 * (../build/buildspec.ts), which pushes the image to the app's ECR repository.
 *
 * The CodeBuild project is generic: each StartBuild carries the buildspec and, as environment
 * variable overrides, everything about this build (bundle object, build path, Dockerfile,
 * repository, tags, build args).
 *
 * How build arg values reach the build. A `KEY=VALUE` arg is written in convox.yml and travels as
 * a PLAINTEXT variable. A bare `KEY` takes its value from the app's environment, which holds
 * secrets, so its value never enters a StartBuild request (where the CodeBuild console and API
 * would show it): the adapter passes a SECRETS_MANAGER variable whose value is only a reference,
 * `<secret>:KEY`, to a JSON key of the app's environment secret (`appEnvSecret`, kept by the
 * rack's environment store). CodeBuild resolves it inside the build, with the service role's
 * `secretsmanager:GetSecretValue`, and masks the value in the build's logs. The adapter itself
 * never sees a value.
 */
import { BatchGetBuildsCommand, StartBuildCommand } from '@aws-sdk/client-codebuild';
import type { Build, CodeBuildClient, EnvironmentVariable } from '@aws-sdk/client-codebuild';
import { BatchDeleteImageCommand, CreateRepositoryCommand, DescribeRepositoriesCommand, PutLifecyclePolicyCommand, RepositoryAlreadyExistsException, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import type { ECRClient, ImageFailure, ImageIdentifier } from '@aws-sdk/client-ecr';
import { SlipwayError } from '../../errors';
import { parseBundleKey } from '../../pipeline/bundle/key';
import { BUILD_ID } from '../../pipeline/domain/ids';
import { APP_NAME } from '../../pipeline/domain/model';
import type { Builder, BuildRequest, BuildState } from '../../pipeline/ports/runtime';
import { BUILD_ARG_PREFIX, BUILD_ENV, buildspecYaml, IMAGE_VARIABLE } from '../build/buildspec';
import type { BuildspecOptions } from '../build/buildspec';

export interface CodeBuildBuilderClients {
  readonly codebuild: CodeBuildClient;
  readonly ecr: ECRClient;
}

export interface CodeBuildBuilderOptions {
  /** The CodeBuild project builds run in (privileged, so that Docker runs). */
  readonly projectName: string;
  /** The bucket bundles are uploaded to; the project's role reads it. */
  readonly bundleBucket: string;
  /** The app's ECR repository, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  readonly repositoryUri: (app: string) => string;
  /** The name of the same repository, for the ECR API. */
  readonly repositoryName: (app: string) => string;
  /**
   * The Secrets Manager secret (name or ARN) holding the app's environment as a JSON object of
   * `KEY: value`. Needed only by builds with bare build args (`KEY`); without it they are refused.
   */
  readonly appEnvSecret?: (app: string) => string;
  readonly buildspec?: BuildspecOptions;
}

export class BuildRequestError extends SlipwayError {
  constructor(problem: string, context: Record<string, unknown>) {
    super(`the CodeBuild builder cannot start this build: ${problem}`, 'BUILD_REQUEST_INVALID', context);
  }
}

export class ImageDeleteError extends SlipwayError {
  constructor(app: string, failures: readonly ImageFailure[]) {
    const list = failures.map((f) => `${f.imageId?.imageDigest ?? f.imageId?.imageTag ?? '?'}: ${f.failureCode ?? 'error'} ${f.failureReason ?? ''}`.trim());
    super(`ECR did not delete ${failures.length} image(s) of ${app}: ${list.join('; ')}`, 'IMAGE_DELETE_FAILED', { app, failures: list });
  }
}

const CONTEXT_HASH = /^[0-9a-f]{16,128}$/;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SERVICE = /^[a-z][a-z0-9-]*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const IMAGE_WITH_DIGEST = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
/** ECR's BatchDeleteImage takes at most 100 image ids per call. */
const DELETE_BATCH = 100;
const RUNNING = new Set(['IN_PROGRESS', undefined]);
const ENDED_BADLY = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED']);

/**
 * An app repository's lifecycle: untagged images (left behind when a cache or context tag moves
 * on) go after two weeks. Tagged images are the releases' and are deleted by the rack's cleanup,
 * which knows which ones a release still uses.
 */
export const REPOSITORY_LIFECYCLE_POLICY = JSON.stringify({
  rules: [{ rulePriority: 1, description: 'untagged images left by moved cache and context tags', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }],
});

export class CodeBuildBuilder implements Builder {
  private readonly buildspec: string;
  /** Repositories known to exist, so that only an app's first build in a function instance asks. */
  private readonly repositories = new Set<string>();

  constructor(
    private readonly clients: CodeBuildBuilderClients,
    private readonly options: CodeBuildBuilderOptions,
  ) {
    // The same text for every build: nothing in it varies per build.
    this.buildspec = buildspecYaml(options.buildspec);
  }

  async start(request: BuildRequest): Promise<{ ref: string }> {
    const { app, build, unit, bundle } = request;
    if (!APP_NAME.test(app)) throw new BuildRequestError(`${JSON.stringify(app)} is not an app name`, { app });
    if (!BUILD_ID.test(build)) throw new BuildRequestError(`${JSON.stringify(build)} is not a build id`, { build });
    if (!CONTEXT_HASH.test(unit.contextHash)) throw new BuildRequestError(`${JSON.stringify(unit.contextHash)} is not a context hash`, { contextHash: unit.contextHash });
    // The project's role can read every app's bundles: a build reads its own app's only.
    if (bundle.app !== app || parseBundleKey(bundle.key).app !== app) throw new BuildRequestError(`bundle ${bundle.key} is not one of ${app}'s`, { app, key: bundle.key });
    const service = unit.services[0];
    if (service === undefined || !SERVICE.test(service)) throw new BuildRequestError('the unit names no service', { services: unit.services });
    // `<service>.<build>` is unique in the build: a service belongs to one unit only.
    const imageTag = `${service}.${build}`;
    const cacheTag = `cache.${service}`;
    if (!TAG.test(imageTag) || !TAG.test(cacheTag)) throw new BuildRequestError(`service name ${service} is too long for an image tag`, { service });

    const variables: EnvironmentVariable[] = [
      plain(BUILD_ENV.bundleBucket, this.options.bundleBucket),
      plain(BUILD_ENV.bundleKey, bundle.key),
      plain(BUILD_ENV.bundleVersion, bundle.version),
      plain(BUILD_ENV.bundleEtag, bundle.etag.replaceAll('"', '')),
      plain(BUILD_ENV.contextPath, insidePath('build path', unit.path) || '.'),
      plain(BUILD_ENV.dockerfile, insidePath('Dockerfile', unit.manifest || 'Dockerfile')),
      plain(BUILD_ENV.repositoryUri, this.options.repositoryUri(app)),
      plain(BUILD_ENV.repositoryName, this.options.repositoryName(app)),
      plain(BUILD_ENV.imageTag, imageTag),
      plain(BUILD_ENV.contextTag, `ctx-${unit.contextHash}`),
      plain(BUILD_ENV.cacheTag, cacheTag),
    ];
    const args = this.buildArgs(app, unit.args);
    variables.push(plain(BUILD_ENV.buildArgs, [...args.keys()].join(' ')), ...args.values());
    await this.ensureRepository(app);

    const output = await this.clients.codebuild.send(
      new StartBuildCommand({
        projectName: this.options.projectName,
        buildspecOverride: this.buildspec,
        environmentVariablesOverride: variables,
        // The buildspec fetches the exact bundle version itself and pushes to ECR: no source, no artifacts.
        sourceTypeOverride: 'NO_SOURCE',
        artifactsOverride: { type: 'NO_ARTIFACTS' },
        // Docker needs privileged mode; the local layer cache serves builds that land on a warm host.
        privilegedModeOverride: true,
        cacheOverride: { type: 'LOCAL', modes: ['LOCAL_DOCKER_LAYER_CACHE'] },
        // A retried start (the state machine retries a task whose answer was lost) gets the same build.
        idempotencyToken: `${build}-${unit.contextHash.slice(0, 32)}`,
      }),
    );
    const ref = output.build?.id;
    if (ref === undefined) throw new SlipwayError('CodeBuild accepted the build but named none', 'BUILD_START_FAILED', { app, build });
    return { ref };
  }

  async status(ref: string): Promise<BuildState> {
    const output = await this.clients.codebuild.send(new BatchGetBuildsCommand({ ids: [ref] }));
    const build = output.builds?.find((b) => b.id === ref);
    if (!build) return { state: 'failed', reason: `CodeBuild has no build ${ref}` };
    if (RUNNING.has(build.buildStatus)) return { state: 'running' };
    if (build.buildStatus === 'SUCCEEDED') {
      const image = build.exportedEnvironmentVariables?.find((v) => v.name === IMAGE_VARIABLE)?.value;
      if (image !== undefined && IMAGE_WITH_DIGEST.test(image)) return { state: 'succeeded', image };
      return { state: 'failed', reason: `CodeBuild build ${ref} succeeded but exported no image digest in ${IMAGE_VARIABLE}` };
    }
    if (ENDED_BADLY.has(build.buildStatus ?? '')) return { state: 'failed', reason: failureReason(build) };
    return { state: 'failed', reason: `CodeBuild build ${ref} has status ${build.buildStatus ?? ''}, which this rack does not know` };
  }

  async deleteImages(app: string, images: readonly string[]): Promise<void> {
    if (!APP_NAME.test(app)) return;
    const uri = this.options.repositoryUri(app);
    const ids = new Map<string, ImageIdentifier>();
    for (const image of images) {
      const id = imageId(uri, image);
      if (id) ids.set(id.imageDigest ?? `:${id.imageTag ?? ''}`, id);
    }
    const all = [...ids.values()];
    const failures: ImageFailure[] = [];
    for (let i = 0; i < all.length; i += DELETE_BATCH) {
      const output = await this.clients.ecr.send(new BatchDeleteImageCommand({ repositoryName: this.options.repositoryName(app), imageIds: all.slice(i, i + DELETE_BATCH) }));
      // An image already gone is what cleanup wants.
      failures.push(...(output.failures ?? []).filter((f) => f.failureCode !== 'ImageNotFound'));
    }
    if (failures.length > 0) throw new ImageDeleteError(app, failures);
  }

  /**
   * The app's repository, created on its first build: apps come and go without a stack update.
   * Scanned on push; tags are mutable because the context and cache tags move from build to build.
   */
  private async ensureRepository(app: string): Promise<void> {
    const repositoryName = this.options.repositoryName(app);
    if (this.repositories.has(repositoryName)) return;
    try {
      await this.clients.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
    } catch (e) {
      if (!(e instanceof RepositoryNotFoundException)) throw e;
      try {
        await this.clients.ecr.send(
          new CreateRepositoryCommand({
            repositoryName,
            imageScanningConfiguration: { scanOnPush: true },
            imageTagMutability: 'MUTABLE',
            encryptionConfiguration: { encryptionType: 'AES256' },
            tags: [{ Key: 'slipway:app', Value: app }],
          }),
        );
      } catch (created) {
        // Another unit of the same deploy created it first.
        if (!(created instanceof RepositoryAlreadyExistsException)) throw created;
      }
      await this.clients.ecr.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText: REPOSITORY_LIFECYCLE_POLICY }));
    }
    this.repositories.add(repositoryName);
  }

  /** Build arg variables by arg name (the last setting of a name wins, as with docker). */
  private buildArgs(app: string, args: readonly string[]): Map<string, EnvironmentVariable> {
    const out = new Map<string, EnvironmentVariable>();
    for (const arg of args) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(0, eq) : arg;
      if (!ARG_NAME.test(name)) throw new BuildRequestError(`build arg ${JSON.stringify(name)} is not a valid name`, { arg: name });
      out.delete(name);
      if (eq >= 0) {
        // Written in convox.yml: not a secret of the environment.
        out.set(name, plain(`${BUILD_ARG_PREFIX}${name}`, arg.slice(eq + 1)));
        continue;
      }
      const secret = this.options.appEnvSecret?.(app);
      if (secret === undefined) throw new BuildRequestError(`build arg ${name} takes its value from the app environment, and this rack has no environment secret to pass it by`, { arg: name });
      // A reference (`secret-id:json-key`), resolved by CodeBuild inside the build.
      out.set(name, { name: `${BUILD_ARG_PREFIX}${name}`, type: 'SECRETS_MANAGER', value: `${secret}:${name}` });
    }
    return out;
  }
}

function plain(name: string, value: string): EnvironmentVariable {
  return { name, type: 'PLAINTEXT', value };
}

/** A path inside the bundle, cleaned of `.` and empty parts; absolute paths and `..` are refused (the buildspec checks again). */
function insidePath(what: string, path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (path.startsWith('/') || parts.includes('..')) throw new BuildRequestError(`the ${what} ${JSON.stringify(path)} leaves the bundle`, { [what]: path });
  return parts.join('/');
}

/** The ECR id of an image of this repository (`<uri>@<digest>`, `<uri>:<tag>`, `<uri>:<tag>@<digest>`); others are not its images. */
function imageId(uri: string, image: string): ImageIdentifier | undefined {
  if (!image.startsWith(uri)) return undefined;
  const rest = image.slice(uri.length);
  const match = /^(?::([^@]+))?(?:@(.+))?$/.exec(rest);
  const tag = match?.[1];
  const digest = match?.[2];
  if (digest !== undefined) return DIGEST.test(digest) ? { imageDigest: digest } : undefined;
  if (tag !== undefined) return TAG.test(tag) ? { imageTag: tag } : undefined;
  return undefined;
}

/** Why a build ended badly: the first phase that did not succeed, its status and CodeBuild's messages. */
function failureReason(build: Build): string {
  let reason = `CodeBuild build ${build.buildStatus ?? 'FAILED'}`;
  const phase = build.phases?.find((p) => p.phaseStatus !== undefined && p.phaseStatus !== 'SUCCEEDED' && p.phaseStatus !== 'IN_PROGRESS');
  if (phase) {
    const messages = (phase.contexts ?? []).map((c) => [c.statusCode, c.message].filter((s) => s !== undefined && s !== '').join(': ')).filter((m) => m !== '');
    reason += ` in phase ${phase.phaseType ?? 'unknown'} (${phase.phaseStatus ?? ''})`;
    if (messages.length > 0) reason += `: ${messages.join('; ')}`;
  }
  if (build.logs?.deepLink) reason += ` (logs: ${build.logs.deepLink})`;
  return reason;
}
