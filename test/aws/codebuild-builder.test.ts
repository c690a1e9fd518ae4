/** The CodeBuild builder against mocked AWS clients (no AWS account is reachable here). */
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import type { Build, StartBuildCommandInput } from '@aws-sdk/client-codebuild';
import { BatchDeleteImageCommand, CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, PutLifecyclePolicyCommand, RepositoryAlreadyExistsException, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CodeBuildBuilder, REPOSITORY_LIFECYCLE_POLICY } from '../../lib/aws/adapters/codebuild-builder';
import type { CodeBuildBuilderOptions } from '../../lib/aws/adapters/codebuild-builder';
import { buildspecYaml } from '../../lib/aws/build/buildspec';
import { SlipwayError } from '../../lib/errors';
import type { BuildRequest } from '../../lib/pipeline/ports/runtime';

const codebuild = mockClient(CodeBuildClient);
const ecr = mockClient(ECRClient);
const REPO = (app: string): string => `123456789012.dkr.ecr.eu-west-1.amazonaws.com/slipway/${app}`;
const HASH = '0123456789abcdef'.repeat(4);
const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
/** The app's environment: its values must never reach any AWS request this builder makes. */
const APP_ENV = { NPM_TOKEN: 'npm_s3cr3t_token_value', SENTRY_AUTH: 'sentry-value-do-not-leak' };

const OPTIONS: CodeBuildBuilderOptions = {
  projectName: 'slipway-rack-build',
  bundleBucket: 'slipway-rack-bundles',
  repositoryUri: REPO,
  repositoryName: (app) => `slipway/${app}`,
  appEnvSecret: (app) => `slipway/rack/${app}/env`,
};

function builder(options: Partial<CodeBuildBuilderOptions> = {}): CodeBuildBuilder {
  return new CodeBuildBuilder({ codebuild: new CodeBuildClient({ region: 'eu-west-1' }), ecr: new ECRClient({ region: 'eu-west-1' }) }, { ...OPTIONS, ...options });
}

function request(unit: Partial<BuildRequest['unit']> = {}, app = 'demo'): BuildRequest {
  return {
    app,
    build: 'BABCDEFGHIJ',
    unit: { contextHash: HASH, path: '.', manifest: 'Dockerfile', args: [], services: ['web', 'worker'], files: 3, bytes: 100, ...unit },
    bundle: { app, key: `apps/${app}/bundles/b1.tgz`, version: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', etag: '"9b2cf535f27731c974343645a3985328"', size: 100 },
    bundleDir: '/tmp/not-used-on-aws',
  };
}

function startInput(index = 0): StartBuildCommandInput {
  const input = codebuild.commandCalls(StartBuildCommand)[index]?.args[0].input;
  if (!input) throw new Error(`no StartBuild call ${index}`);
  return input;
}

function variables(input: StartBuildCommandInput): Record<string, { type?: string; value?: string }> {
  return Object.fromEntries((input.environmentVariablesOverride ?? []).map((v) => [v.name ?? '', { type: v.type, value: v.value }]));
}

/** Every request either client was sent, as JSON. */
function everyRequest(): string {
  return JSON.stringify([...codebuild.calls(), ...ecr.calls()].map((c) => c.args[0].input));
}

beforeEach(() => {
  codebuild.reset();
  ecr.reset();
  codebuild.on(StartBuildCommand).resolves({ build: { id: 'slipway-rack-build:0f1e2d3c-aaaa-bbbb-cccc-123456789abc' } });
});

afterAll(() => {
  codebuild.restore();
  ecr.restore();
});

describe('CodeBuildBuilder.start (CodeBuild, ECR: aws-sdk-client-mock)', () => {
  it('starts the generic project with the buildspec, the build as typed variables, no source, the Docker layer cache and an idempotency token', async () => {
    const { ref } = await builder().start(request({ path: './services/web/', manifest: 'docker/Dockerfile.prod' }));
    expect(ref).toBe('slipway-rack-build:0f1e2d3c-aaaa-bbbb-cccc-123456789abc');
    const input = startInput();
    expect(input).toMatchObject({
      projectName: 'slipway-rack-build',
      buildspecOverride: buildspecYaml(),
      sourceTypeOverride: 'NO_SOURCE',
      artifactsOverride: { type: 'NO_ARTIFACTS' },
      privilegedModeOverride: true,
      cacheOverride: { type: 'LOCAL', modes: ['LOCAL_DOCKER_LAYER_CACHE'] },
      idempotencyToken: `BABCDEFGHIJ-${HASH.slice(0, 32)}`,
    });
    expect(variables(input)).toEqual({
      SLIPWAY_BUNDLE_BUCKET: { type: 'PLAINTEXT', value: 'slipway-rack-bundles' },
      SLIPWAY_BUNDLE_KEY: { type: 'PLAINTEXT', value: 'apps/demo/bundles/b1.tgz' },
      SLIPWAY_BUNDLE_VERSION: { type: 'PLAINTEXT', value: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' },
      // S3 quotes ETags; the buildspec compares the bare value.
      SLIPWAY_BUNDLE_ETAG: { type: 'PLAINTEXT', value: '9b2cf535f27731c974343645a3985328' },
      SLIPWAY_CONTEXT_PATH: { type: 'PLAINTEXT', value: 'services/web' },
      SLIPWAY_DOCKERFILE: { type: 'PLAINTEXT', value: 'docker/Dockerfile.prod' },
      SLIPWAY_REPOSITORY_URI: { type: 'PLAINTEXT', value: REPO('demo') },
      SLIPWAY_REPOSITORY_NAME: { type: 'PLAINTEXT', value: 'slipway/demo' },
      SLIPWAY_IMAGE_TAG: { type: 'PLAINTEXT', value: 'web.BABCDEFGHIJ' },
      SLIPWAY_CONTEXT_TAG: { type: 'PLAINTEXT', value: `ctx-${HASH}` },
      SLIPWAY_CACHE_TAG: { type: 'PLAINTEXT', value: 'cache.web' },
      SLIPWAY_BUILD_ARGS: { type: 'PLAINTEXT', value: '' },
    });
  });

  it('builds the bundle root with the default Dockerfile when the unit names neither', async () => {
    await builder().start(request({ path: '', manifest: '' }));
    expect(variables(startInput())).toMatchObject({ SLIPWAY_CONTEXT_PATH: { value: '.' }, SLIPWAY_DOCKERFILE: { value: 'Dockerfile' } });
  });

  it('gives a retried start the same idempotency token, and another unit another one', async () => {
    await builder().start(request());
    await builder().start(request());
    await builder().start(request({ contextHash: 'f'.repeat(64) }));
    expect(startInput(0).idempotencyToken).toBe(startInput(1).idempotencyToken);
    expect(startInput(2).idempotencyToken).not.toBe(startInput(0).idempotencyToken);
    expect(startInput(0)).toEqual(startInput(1));
  });

  it('passes KEY=VALUE args as PLAINTEXT and bare KEY args as SECRETS_MANAGER references, so no environment value is in any request', async () => {
    await builder().start(request({ args: ['NODE_ENV=production', 'NPM_TOKEN', 'EMPTY=', 'SENTRY_AUTH', 'NODE_ENV=staging'] }));
    const vars = variables(startInput());
    expect(vars.SLIPWAY_BUILD_ARGS).toEqual({ type: 'PLAINTEXT', value: 'NPM_TOKEN EMPTY SENTRY_AUTH NODE_ENV' });
    // The last setting of a name wins, as with docker.
    expect(vars.SLIPWAY_ARG_NODE_ENV).toEqual({ type: 'PLAINTEXT', value: 'staging' });
    expect(vars.SLIPWAY_ARG_EMPTY).toEqual({ type: 'PLAINTEXT', value: '' });
    expect(vars.SLIPWAY_ARG_NPM_TOKEN).toEqual({ type: 'SECRETS_MANAGER', value: 'slipway/rack/demo/env:NPM_TOKEN' });
    expect(vars.SLIPWAY_ARG_SENTRY_AUTH).toEqual({ type: 'SECRETS_MANAGER', value: 'slipway/rack/demo/env:SENTRY_AUTH' });
    const sent = everyRequest();
    for (const value of Object.values(APP_ENV)) expect(sent).not.toContain(value);
    // The only PLAINTEXT build arg values are the ones written in convox.yml.
    const plainArgs = (startInput().environmentVariablesOverride ?? []).filter((v) => v.name?.startsWith('SLIPWAY_ARG_') && v.type === 'PLAINTEXT').map((v) => v.value);
    expect(plainArgs.sort()).toEqual(['', 'staging']);
  });

  it('refuses a bare build arg when the rack has no environment secret to pass it by, without calling CodeBuild', async () => {
    const noSecret = builder({ appEnvSecret: undefined });
    await expect(noSecret.start(request({ args: ['NPM_TOKEN'] }))).rejects.toMatchObject({ code: 'BUILD_REQUEST_INVALID' });
    // Literal args need no secret.
    await expect(noSecret.start(request({ args: ['NODE_ENV=production'] }))).resolves.toEqual({ ref: expect.any(String) as string });
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(1);
  });

  it('refuses paths that leave the bundle, bad build arg names, and bundles of another app, without calling CodeBuild', async () => {
    const bad: BuildRequest[] = [
      request({ path: '../other' }),
      request({ path: 'app/../../other' }),
      request({ path: '/etc' }),
      request({ manifest: '../Dockerfile' }),
      request({ manifest: '/etc/passwd' }),
      request({ args: ['BAD-NAME=1'] }),
      request({ args: ['$(id)'] }),
      request({ contextHash: 'not-a-hash' }),
      request({ services: [] }),
      { ...request(), app: 'Bad_App' },
      { ...request(), build: 'BNOTANID' },
      { ...request(), bundle: { ...request().bundle, key: 'apps/other/bundles/b1.tgz' } },
      { ...request(), bundle: { ...request().bundle, app: 'other' } },
    ];
    for (const r of bad) await expect(builder().start(r), JSON.stringify(r.unit)).rejects.toBeInstanceOf(SlipwayError);
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });

  it('fails with a typed error when CodeBuild names no build', async () => {
    codebuild.on(StartBuildCommand).resolves({});
    await expect(builder().start(request())).rejects.toMatchObject({ code: 'BUILD_START_FAILED' });
  });
});

describe('CodeBuildBuilder app repositories (ECR: aws-sdk-client-mock)', () => {
  const notFound = () => new RepositoryNotFoundException({ message: 'not found', $metadata: {} });

  it('creates a missing repository before the first build, scanned on push, with the lifecycle policy, and asks once per function instance', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(notFound());
    const b = builder();
    await b.start(request());
    await b.start(request());
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(1);
    expect(ecr.commandCalls(CreateRepositoryCommand)[0]?.args[0].input).toMatchObject({
      repositoryName: 'slipway/demo',
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: 'MUTABLE',
    });
    const policy = ecr.commandCalls(PutLifecyclePolicyCommand)[0]?.args[0].input;
    expect(policy).toEqual({ repositoryName: 'slipway/demo', lifecyclePolicyText: REPOSITORY_LIFECYCLE_POLICY });
    expect((JSON.parse(REPOSITORY_LIFECYCLE_POLICY) as { rules: { selection: { tagStatus: string } }[] }).rules[0]?.selection.tagStatus).toBe('untagged');
  });

  it('takes a repository another unit created a moment earlier as created', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(notFound());
    ecr.on(CreateRepositoryCommand).rejects(new RepositoryAlreadyExistsException({ message: 'exists', $metadata: {} }));
    expect((await builder().start(request())).ref).toMatch(/^slipway-rack-build:/);
  });

  it('does not start a build when ECR fails otherwise', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new Error('AccessDenied'));
    await expect(builder().start(request())).rejects.toThrow('AccessDenied');
    expect(codebuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });
});

describe('CodeBuildBuilder.status (CodeBuild: aws-sdk-client-mock)', () => {
  const REF = 'slipway-rack-build:0f1e2d3c';
  const IMAGE = `${REPO('demo')}@${digest(7)}`;
  const answer = (build: Build): void => {
    codebuild.on(BatchGetBuildsCommand, { ids: [REF] }).resolves({ builds: [{ id: REF, ...build }] });
  };

  it('asks for the ref and reports IN_PROGRESS as running', async () => {
    answer({ buildStatus: 'IN_PROGRESS', currentPhase: 'BUILD' });
    await expect(builder().status(REF)).resolves.toEqual({ state: 'running' });
    expect(codebuild.commandCalls(BatchGetBuildsCommand)[0]?.args[0].input).toEqual({ ids: [REF] });
  });

  it('reports SUCCEEDED with the image the buildspec exported', async () => {
    answer({ buildStatus: 'SUCCEEDED', exportedEnvironmentVariables: [{ name: 'OTHER', value: 'x' }, { name: 'SLIPWAY_IMAGE', value: IMAGE }] });
    await expect(builder().status(REF)).resolves.toEqual({ state: 'succeeded', image: IMAGE });
  });

  it('reports a SUCCEEDED build without an image digest as failed', async () => {
    answer({ buildStatus: 'SUCCEEDED', exportedEnvironmentVariables: [{ name: 'SLIPWAY_IMAGE', value: '' }] });
    await expect(builder().status(REF)).resolves.toMatchObject({ state: 'failed', reason: expect.stringContaining('no image digest') as string });
    answer({ buildStatus: 'SUCCEEDED', exportedEnvironmentVariables: [{ name: 'SLIPWAY_IMAGE', value: `${REPO('demo')}:web.BABCDEFGHIJ` }] });
    await expect(builder().status(REF)).resolves.toMatchObject({ state: 'failed' });
  });

  it.each(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'] as const)('reports %s as failed, naming the failing phase, its status and its messages', async (status) => {
    answer({
      buildStatus: status,
      logs: { deepLink: 'https://console.aws.amazon.com/cloudwatch/home#logEvent:group=/aws/codebuild/x' },
      phases: [
        { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' },
        { phaseType: 'PROVISIONING', phaseStatus: 'SUCCEEDED' },
        { phaseType: 'PRE_BUILD', phaseStatus: 'SUCCEEDED', contexts: [{ statusCode: '', message: '' }] },
        {
          phaseType: 'BUILD',
          phaseStatus: status,
          contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'Error while executing command: bash "${SLIPWAY_WORK}/build.sh" build. Reason: exit status 1' }],
        },
        { phaseType: 'FINALIZING', phaseStatus: 'SUCCEEDED' },
        { phaseType: 'COMPLETED' },
      ],
    });
    await expect(builder().status(REF)).resolves.toEqual({
      state: 'failed',
      reason:
        `CodeBuild build ${status} in phase BUILD (${status}): COMMAND_EXECUTION_ERROR: Error while executing command: bash "\${SLIPWAY_WORK}/build.sh" build. Reason: exit status 1` +
        ' (logs: https://console.aws.amazon.com/cloudwatch/home#logEvent:group=/aws/codebuild/x)',
    });
  });

  it('reports a failure that names no phase with the build status alone', async () => {
    answer({ buildStatus: 'FAULT', phases: [{ phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' }] });
    await expect(builder().status(REF)).resolves.toEqual({ state: 'failed', reason: 'CodeBuild build FAULT' });
  });

  it('reports a build CodeBuild does not have, or a status it does not know, as failed', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [], buildsNotFound: [REF] });
    await expect(builder().status(REF)).resolves.toEqual({ state: 'failed', reason: `CodeBuild has no build ${REF}` });
    answer({ buildStatus: 'PENDING_SOMETHING' as Build['buildStatus'] });
    await expect(builder().status(REF)).resolves.toMatchObject({ state: 'failed', reason: expect.stringContaining('PENDING_SOMETHING') as string });
  });
});

describe('CodeBuildBuilder.deleteImages (ECR: aws-sdk-client-mock)', () => {
  beforeEach(() => {
    ecr.on(BatchDeleteImageCommand).resolves({ failures: [] });
  });

  it('deletes the app repository images in batches of 100', async () => {
    const images = Array.from({ length: 250 }, (_, i) => `${REPO('demo')}@${digest(i)}`);
    await builder().deleteImages('demo', images);
    const calls = ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.imageIds?.length)).toEqual([100, 100, 50]);
    expect(calls.every((c) => c.repositoryName === 'slipway/demo')).toBe(true);
    expect(calls.flatMap((c) => c.imageIds ?? [])).toEqual(images.map((_, i) => ({ imageDigest: digest(i) })));
  });

  it("ignores images that are not in the app's repository, and deletes each image once", async () => {
    await builder().deleteImages('demo', [
      `${REPO('demo')}@${digest(1)}`,
      `${REPO('demo')}@${digest(1)}`,
      `${REPO('demo')}:web.BABCDEFGHIJ`,
      `${REPO('demo')}:worker.BABCDEFGHIJ@${digest(2)}`,
      `${REPO('other')}@${digest(3)}`,
      `${REPO('demo-two')}@${digest(4)}`,
      `${REPO('demo')}@sha256:short`,
      `${REPO('demo')}:bad tag`,
      REPO('demo'),
      'nginx:1.27',
      `docker.io/library/nginx@${digest(5)}`,
    ]);
    const calls = ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([{ repositoryName: 'slipway/demo', imageIds: [{ imageDigest: digest(1) }, { imageTag: 'web.BABCDEFGHIJ' }, { imageDigest: digest(2) }] }]);
  });

  it('calls nothing when no image is the app’s', async () => {
    await builder().deleteImages('demo', ['nginx:1.27']);
    await builder().deleteImages('Not An App', [`${REPO('demo')}@${digest(1)}`]);
    expect(ecr.calls()).toHaveLength(0);
  });

  it('ignores images already gone, and reports other failures after trying every batch', async () => {
    ecr.on(BatchDeleteImageCommand).resolves({ failures: [{ imageId: { imageDigest: digest(1) }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] });
    await expect(builder().deleteImages('demo', [`${REPO('demo')}@${digest(1)}`])).resolves.toBeUndefined();

    // *Once answers count calls from the last reset.
    ecr.reset();
    ecr
      .on(BatchDeleteImageCommand)
      .resolvesOnce({ failures: [{ imageId: { imageDigest: digest(1) }, failureCode: 'KmsError', failureReason: 'key disabled' }] })
      .resolves({ failures: [] });
    const images = Array.from({ length: 101 }, (_, i) => `${REPO('demo')}@${digest(i + 1)}`);
    await expect(builder().deleteImages('demo', images)).rejects.toMatchObject({ code: 'IMAGE_DELETE_FAILED', message: expect.stringContaining('KmsError key disabled') as string });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(2);
  });

  it('sends no environment value in any request', async () => {
    await builder().start(request({ args: ['NPM_TOKEN', 'SENTRY_AUTH'] }));
    await builder().deleteImages('demo', [`${REPO('demo')}@${digest(1)}`]);
    const sent = everyRequest();
    for (const value of Object.values(APP_ENV)) expect(sent).not.toContain(value);
  });
});
