/**
 * The buildspec, run here: its commands go to the real bash, phase by phase as CodeBuild runs
 * them, with stand-ins for `aws` and `docker` on PATH that record every call and answer as S3 and
 * ECR would. No CodeBuild, Docker or AWS account is reachable here. The last test drives it with
 * the request CodeBuildBuilder sends (CodeBuild mocked with aws-sdk-client-mock).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CodeBuildBuilder } from '../../lib/aws/adapters/codebuild-builder';
import { BUILD_ARG_PREFIX, BUILD_ENV, BUILD_SCRIPT, buildspec, buildspecYaml, IMAGE_VARIABLE } from '../../lib/aws/build/buildspec';
import type { Buildspec } from '../../lib/aws/build/buildspec';

const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/slipway/demo';
const HASH = 'a'.repeat(64);
const DIGEST = `sha256:${'d'.repeat(64)}`;
const MANIFEST = '{\n  "schemaVersion": 2,\n  "mediaType": "application/vnd.oci.image.manifest.v1+json"\n}';
const SECRET_VALUE = 'n0t-for-the-logs-7f3a';

// Stand-ins for the AWS CLI and Docker: each call is logged (arguments NUL-separated, calls
// separated by \x1e); ECR's tags are files in $STUB_DIR/ecr holding their digest.
const AWS_STUB = String.raw`#!/usr/bin/env bash
set -euo pipefail
# One write per call: the two ends of a pipe log at the same time.
record="$(mktemp)"
{ printf '%s\0' aws "$@"; printf '\036'; } > "$record"
cat "$record" >> "$STUB_DIR/calls"
rm -f "$record"
arg() {
  local want="$1"; shift
  while [ "$#" -gt 1 ]; do
    if [ "$1" = "$want" ]; then printf '%s' "$2"; return 0; fi
    shift
  done
  return 1
}
case "$1 $2" in
  "ecr batch-get-image")
    ids="$(arg --image-ids "$@")"; tag="$(printf '%s' "$ids" | cut -d = -f 2-)"; query="$(arg --query "$@")"; f="$STUB_DIR/ecr/$tag"
    if [ ! -f "$f" ]; then
      if [ "$query" = "length(images)" ]; then echo 0; else echo None; fi
      exit 0
    fi
    case "$query" in
      "length(images)") echo 1 ;;
      "images[0].imageManifestMediaType") echo application/vnd.oci.image.manifest.v1+json ;;
      "images[0].imageManifest") cat "$STUB_DIR/manifest"; echo ;;
      "images[0].imageId.imageDigest") cat "$f"; echo ;;
      *) echo "unexpected query $query" >&2; exit 2 ;;
    esac ;;
  "ecr put-image")
    tag="$(arg --image-tag "$@")"; printf '%s' "$STUB_DIGEST" > "$STUB_DIR/ecr/$tag"; echo '{}' ;;
  "ecr get-login-password") echo stub-password ;;
  "s3api get-object")
    for out in "$@"; do :; done
    cp "$STUB_BUNDLE" "$out"; printf '%s\t"%s"\n' "$STUB_VERSION" "$STUB_ETAG" ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`;

const DOCKER_STUB = String.raw`#!/usr/bin/env bash
set -euo pipefail
# One write per call: the two ends of a pipe log at the same time.
record="$(mktemp)"
{ printf '%s\0' docker "$@"; printf '\036'; } > "$record"
cat "$record" >> "$STUB_DIR/calls"
rm -f "$record"
case "$1" in
  login) cat > "$STUB_DIR/login-stdin" ;;
  build)
    printf '%s' "$(printenv DOCKER_BUILDKIT || true)" > "$STUB_DIR/buildkit"
    if printenv STUB_BUILD_FAILS > /dev/null; then echo "RUN npm ci: exit code 1" >&2; exit 1; fi ;;
  tag) ;;
  push) printf '%s' "$STUB_DIGEST" > "$STUB_DIR/ecr/$(printf '%s' "$2" | awk -F : '{ print $NF }')" ;;
  *) exit 2 ;;
esac
`;

interface Run {
  readonly phase: string;
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface Outcome {
  readonly runs: Run[];
  /** The phase that failed, if any. */
  readonly failed?: string;
  /** SLIPWAY_IMAGE as CodeBuild would export it. */
  readonly exported: string;
  readonly calls: string[][];
  readonly output: string;
}

let dir: string;
let work: string;
let stubDir: string;
let bundle: string;
let etag: string;

/** The bundle: a gzipped tar with a service in app/, a root Dockerfile, and links that lead out. */
function makeBundle(): void {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'app'), { recursive: true });
  writeFileSync(join(src, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(src, 'app', 'Dockerfile'), 'FROM node:22\nARG NPM_TOKEN\nCOPY . .\n');
  writeFileSync(join(src, 'app', 'index.js'), 'console.log("hi")\n');
  symlinkSync('/etc', join(src, 'app', 'escape'));
  symlinkSync('/etc/passwd', join(src, 'app', 'Dockerfile.out'));
  bundle = join(dir, 'bundle.tgz');
  const tar = spawnSync('tar', ['-czf', bundle, '-C', src, '.'], { encoding: 'utf8' });
  expect(tar.status, tar.stderr).toBe(0);
  etag = createHash('md5').update(readFileSync(bundle)).digest('hex');
}

function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    [BUILD_ENV.bundleBucket]: 'slipway-bundles',
    [BUILD_ENV.bundleKey]: 'apps/demo/bundles/b1.tgz',
    [BUILD_ENV.bundleVersion]: 'v-123',
    [BUILD_ENV.bundleEtag]: etag,
    [BUILD_ENV.contextPath]: 'app',
    [BUILD_ENV.dockerfile]: 'Dockerfile',
    [BUILD_ENV.repositoryUri]: REPO,
    [BUILD_ENV.repositoryName]: 'slipway/demo',
    [BUILD_ENV.imageTag]: 'web.BABCDEFGHIJ',
    [BUILD_ENV.contextTag]: `ctx-${HASH}`,
    [BUILD_ENV.cacheTag]: 'cache.web',
    [BUILD_ENV.buildArgs]: 'NODE_ENV NPM_TOKEN UNSET_ARG',
    [`${BUILD_ARG_PREFIX}NODE_ENV`]: 'production',
    [`${BUILD_ARG_PREFIX}NPM_TOKEN`]: SECRET_VALUE,
    ...overrides,
  };
}

function stubEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: dir,
    STUB_DIR: stubDir,
    STUB_BUNDLE: bundle,
    STUB_VERSION: 'v-123',
    STUB_ETAG: etag,
    STUB_DIGEST: DIGEST,
    ...extra,
  };
}

function calls(): string[][] {
  const file = join(stubDir, 'calls');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\x1e')
    .filter((c) => c !== '')
    .map((c) => c.split('\0').slice(0, -1));
}

/** Run the buildspec's phases as CodeBuild does: a failed command ends its phase; ABORT ends the build. */
function runBuildspec(spec: Buildspec, variables: Record<string, string>): Outcome {
  const env = stubEnv({ ...spec.env.variables, ...variables });
  const runs: Run[] = [];
  let failed: string | undefined;
  let exported = '';
  for (const [phase, body] of Object.entries(spec.phases)) {
    for (const command of body.commands) {
      // CodeBuild reads exported variables from its shell after the build: print the value from the same shell.
      const script = command.includes(`export ${IMAGE_VARIABLE}`) ? `${command}\nprintf '%s' "$${IMAGE_VARIABLE}" > "$STUB_DIR/exported"` : command;
      const r = spawnSync('bash', ['-c', script], { env, cwd: dir, encoding: 'utf8' });
      runs.push({ phase, command, code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr });
      if (r.status !== 0) {
        failed ??= phase;
        break;
      }
    }
    if (failed !== undefined && body['on-failure'] === 'ABORT') break;
  }
  const exportedFile = join(stubDir, 'exported');
  if (existsSync(exportedFile)) exported = readFileSync(exportedFile, 'utf8');
  const output = runs.map((r) => r.stdout + r.stderr).join('');
  return failed === undefined ? { runs, exported, calls: calls(), output } : { runs, failed, exported, calls: calls(), output };
}

/** Run the written script directly (after the buildspec's first command wrote it). */
function runScript(step: string, variables: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', [join(work, 'build.sh'), step], { env: stubEnv({ SLIPWAY_WORK: work, ...variables }), cwd: dir, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function writeScript(): void {
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'build.sh'), BUILD_SCRIPT);
}

const named = (all: string[][], ...prefix: string[]): string[][] => all.filter((c) => prefix.every((p, i) => c[i] === p));

/**
 * Expansions (`$x`, `${x}`, `$(…)`) outside double quotes, found by tracking the shell's quoting on
 * one line: single quotes, double quotes, and command substitutions (which start a fresh quoting level).
 */
function unquotedExpansions(line: string): string[] {
  const found: string[] = [];
  const stack: ('dq' | 'cmd')[] = [];
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    const inDq = stack.at(-1) === 'dq';
    if (!inDq && c === '#' && (i === 0 || /\s/.test(line.charAt(i - 1)))) break;
    if (c === '\\') {
      i++;
      continue;
    }
    if (!inDq && c === "'") {
      const end = line.indexOf("'", i + 1);
      i = end < 0 ? line.length : end;
      continue;
    }
    if (c === '"') {
      if (inDq) stack.pop();
      else stack.push('dq');
      continue;
    }
    if (c === '$' && line.charAt(i + 1) === '(') {
      if (!inDq) found.push(line.slice(i, i + 12));
      stack.push('cmd');
      i++;
      continue;
    }
    if (c === ')' && stack.at(-1) === 'cmd') {
      stack.pop();
      continue;
    }
    if (c === '$' && /[A-Za-z_{!@#?*0-9]/.test(line.charAt(i + 1)) && !inDq) found.push(line.slice(i, i + 12));
  }
  return found;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-buildspec-'));
  work = join(dir, 'work');
  stubDir = join(dir, 'stub');
  mkdirSync(join(stubDir, 'ecr'), { recursive: true });
  writeFileSync(join(stubDir, 'manifest'), MANIFEST);
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'aws'), AWS_STUB);
  writeFileSync(join(dir, 'bin', 'docker'), DOCKER_STUB);
  chmodSync(join(dir, 'bin', 'aws'), 0o755);
  chmodSync(join(dir, 'bin', 'docker'), 0o755);
  makeBundle();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the buildspec document (no CodeBuild here)', () => {
  it('is YAML that parses back to the buildspec: version 0.2, bash, three phases, the exported image variable', () => {
    const spec = buildspec();
    const parsed = parse(buildspecYaml()) as unknown;
    expect(parsed).toEqual(JSON.parse(JSON.stringify(spec)));
    expect(spec.version).toBe(0.2);
    expect(spec.env.shell).toBe('bash');
    expect(spec.env['exported-variables']).toEqual([IMAGE_VARIABLE]);
    expect(Object.keys(spec.phases)).toEqual(['pre_build', 'build', 'post_build']);
    for (const phase of Object.values(spec.phases)) expect(phase.commands.length).toBeGreaterThan(0);
    // A failed download or build must not run the next phase.
    expect(spec.phases.pre_build['on-failure']).toBe('ABORT');
    expect(spec.phases.build['on-failure']).toBe('ABORT');
    expect(buildspec({ reuseByContextHash: false }).env.variables.SLIPWAY_REUSE).toBe('0');
  });

  it('is the same text for every build: nothing per build is written into it', () => {
    expect(buildspecYaml()).toBe(buildspecYaml());
    expect(buildspecYaml()).not.toMatch(/apps\/|\.dkr\.ecr\.|BABCDEFGHIJ/);
  });

  it('refuses a work folder that is not a plain absolute folder', () => {
    for (const workDir of ['/', 'tmp/x', '/tmp/../etc', '/tmp/a b', '/tmp/$(x)']) expect(() => buildspec({ workDir }), workDir).toThrow(/workDir/);
  });

  it('quotes every variable and command substitution, in the script and in the commands', () => {
    // The checker itself finds what it should.
    expect(unquotedExpansions('rm -rf $dir "${ok}"').map((e) => e.slice(0, 4))).toEqual(['$dir']);
    expect(unquotedExpansions('x="$(f "$a")" $(g)')).toHaveLength(1);
    expect(unquotedExpansions("echo '$literal' # $comment")).toEqual([]);
    const lines = [...BUILD_SCRIPT.split('\n'), ...Object.values(buildspec().phases).flatMap((p) => p.commands.flatMap((c) => c.split('\n')))];
    const bad = lines.map((line) => ({ line, found: unquotedExpansions(line) })).filter((l) => l.found.length > 0);
    expect(bad).toEqual([]);
  });

  it('is valid bash with strict mode on', () => {
    writeScript();
    const check = spawnSync('bash', ['-n', join(work, 'build.sh')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(BUILD_SCRIPT).toMatch(/^set -euo pipefail$/m);
    expect(BUILD_SCRIPT).not.toMatch(/set -x|set -o xtrace/);
  });
});

describe('the build script, run by bash with stub aws and docker (no CodeBuild, ECR or S3 here)', () => {
  it('downloads the exact bundle version, builds with the cache and the build args, pushes, and exports the image digest', () => {
    const outcome = runBuildspec(buildspec({ workDir: work }), baseEnv());
    expect(outcome.failed, outcome.output).toBeUndefined();
    expect(outcome.exported).toBe(`${REPO}@${DIGEST}`);

    const [get] = named(outcome.calls, 'aws', 's3api', 'get-object');
    expect(get).toEqual(expect.arrayContaining(['--bucket', 'slipway-bundles', '--key', 'apps/demo/bundles/b1.tgz', '--version-id', 'v-123', '--if-match', `"${etag}"`]));

    const login = named(outcome.calls, 'docker', 'login')[0] ?? [];
    expect(login).toEqual(['docker', 'login', '--username', 'AWS', '--password-stdin', '123456789012.dkr.ecr.eu-west-1.amazonaws.com']);
    expect(readFileSync(join(stubDir, 'login-stdin'), 'utf8')).toBe('stub-password\n');

    const build = named(outcome.calls, 'docker', 'build')[0] ?? [];
    expect(build).toEqual([
      'docker',
      'build',
      '--file',
      join(work, 'bundle', 'app', 'Dockerfile'),
      '--tag',
      `${REPO}:web.BABCDEFGHIJ`,
      '--cache-from',
      `${REPO}:cache.web`,
      '--build-arg',
      'NODE_ENV=production',
      '--build-arg',
      `NPM_TOKEN=${SECRET_VALUE}`,
      '--build-arg',
      'BUILDKIT_INLINE_CACHE=1',
      join(work, 'bundle', 'app'),
    ]);
    // An arg with no value is left out: the Dockerfile's ARG default applies.
    expect(build.join(' ')).not.toContain('UNSET_ARG');
    expect(readFileSync(join(stubDir, 'buildkit'), 'utf8')).toBe('1');

    expect(named(outcome.calls, 'docker', 'push').map((c) => c[2])).toEqual([`${REPO}:web.BABCDEFGHIJ`, `${REPO}:ctx-${HASH}`, `${REPO}:cache.web`]);
    expect(named(outcome.calls, 'aws', 'ecr', 'put-image')).toEqual([]);
  });

  it('never prints a build arg value', () => {
    const outcome = runBuildspec(buildspec({ workDir: work }), baseEnv());
    expect(outcome.failed, outcome.output).toBeUndefined();
    expect(outcome.output).not.toContain(SECRET_VALUE);
    expect(outcome.output).not.toContain('production');
    // Not even when the build fails.
    // A fresh repository, so that the context is built again rather than reused.
    rmSync(join(stubDir, 'calls'));
    rmSync(join(stubDir, 'ecr'), { recursive: true });
    mkdirSync(join(stubDir, 'ecr'));
    const failing = runBuildspec(buildspec({ workDir: work }), { ...baseEnv(), STUB_BUILD_FAILS: '1' });
    expect(failing.failed).toBe('build');
    expect(failing.output).not.toContain(SECRET_VALUE);
  });

  it('reuses an image with the same context hash: retags it in ECR, with no download, no docker and no build', () => {
    writeFileSync(join(stubDir, 'ecr', `ctx-${HASH}`), DIGEST);
    const outcome = runBuildspec(buildspec({ workDir: work }), baseEnv());
    expect(outcome.failed, outcome.output).toBeUndefined();
    expect(outcome.exported).toBe(`${REPO}@${DIGEST}`);
    expect(named(outcome.calls, 'aws', 's3api')).toEqual([]);
    expect(named(outcome.calls, 'docker')).toEqual([]);
    const [put] = named(outcome.calls, 'aws', 'ecr', 'put-image');
    expect(put).toEqual([
      'aws',
      'ecr',
      'put-image',
      '--repository-name',
      'slipway/demo',
      '--image-tag',
      'web.BABCDEFGHIJ',
      '--image-manifest',
      MANIFEST,
      '--image-manifest-media-type',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
    expect(outcome.output).toContain(`reusing ${REPO}:ctx-${HASH}`);
  });

  it('does not tag again when a retried build finds its tag already there', () => {
    writeFileSync(join(stubDir, 'ecr', `ctx-${HASH}`), DIGEST);
    writeFileSync(join(stubDir, 'ecr', 'web.BABCDEFGHIJ'), DIGEST);
    const outcome = runBuildspec(buildspec({ workDir: work }), baseEnv());
    expect(outcome.failed, outcome.output).toBeUndefined();
    expect(named(outcome.calls, 'aws', 'ecr', 'put-image')).toEqual([]);
    expect(outcome.exported).toBe(`${REPO}@${DIGEST}`);
  });

  it('builds anyway when reuse is turned off', () => {
    writeFileSync(join(stubDir, 'ecr', `ctx-${HASH}`), DIGEST);
    const outcome = runBuildspec(buildspec({ workDir: work, reuseByContextHash: false }), baseEnv());
    expect(outcome.failed, outcome.output).toBeUndefined();
    expect(named(outcome.calls, 'docker', 'build')).toHaveLength(1);
  });

  it('refuses build paths and Dockerfiles that are absolute or hold `..`, before fetching anything', () => {
    writeScript();
    const cases: [string, string][] = [
      [BUILD_ENV.contextPath, '../other'],
      [BUILD_ENV.contextPath, 'app/../../other'],
      [BUILD_ENV.contextPath, '..'],
      [BUILD_ENV.contextPath, 'app/..'],
      [BUILD_ENV.contextPath, '/etc'],
      [BUILD_ENV.contextPath, 'app\n../x'],
      [BUILD_ENV.dockerfile, '../Dockerfile'],
      [BUILD_ENV.dockerfile, '/etc/passwd'],
    ];
    for (const [name, value] of cases) {
      const r = runScript('prepare', baseEnv({ [name]: value }));
      expect(r.code, `${name}=${JSON.stringify(value)}`).not.toBe(0);
      expect(r.stderr).toMatch(/absolute|'\.\.'|control character/);
    }
    expect(calls()).toEqual([]);
    // Names that merely contain dots are fine.
    expect(runScript('prepare', baseEnv({ [BUILD_ENV.contextPath]: './app/', [BUILD_ENV.dockerfile]: 'Dockerfile' })).code).toBe(0);
  });

  it('refuses a build path or Dockerfile that a link in the bundle leads out of it', () => {
    writeScript();
    const out = runScript('prepare', baseEnv({ [BUILD_ENV.contextPath]: 'app/escape' }));
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('the build path leads outside the bundle through a link');
    const file = runScript('prepare', baseEnv({ [BUILD_ENV.dockerfile]: 'Dockerfile.out' }));
    expect(file.code).not.toBe(0);
    expect(file.stderr).toContain('the Dockerfile leads outside the bundle through a link');
  });

  it('fails when S3 sends another version, another ETag, or bytes that do not match the ETag', () => {
    writeScript();
    const version = runScript('prepare', { ...baseEnv(), STUB_VERSION: 'v-999' });
    expect(version.code).not.toBe(0);
    expect(version.stderr).toContain('S3 sent version v-999 of the bundle, not v-123');
    const other = runScript('prepare', { ...baseEnv(), STUB_ETAG: 'f'.repeat(32) });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain("the bundle's ETag is");
    const bytes = runScript('prepare', { ...baseEnv({ [BUILD_ENV.bundleEtag]: 'e'.repeat(32) }), STUB_ETAG: 'e'.repeat(32) });
    expect(bytes.code).not.toBe(0);
    expect(bytes.stderr).toContain('does not match its ETag');
    // A multipart ETag is not an MD5: version and ETag are checked, the bytes cannot be.
    const multipart = runScript('prepare', { ...baseEnv({ [BUILD_ENV.bundleEtag]: 'abc-3' }), STUB_ETAG: 'abc-3' });
    expect(multipart.code, multipart.stderr).toBe(0);
  });

  it('checks build arg names again, and builds with none when the list is blank', () => {
    writeScript();
    expect(runScript('prepare', baseEnv()).code).toBe(0);
    const bad = runScript('build', baseEnv({ [BUILD_ENV.buildArgs]: 'NODE_ENV BAD-NAME' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('BAD-NAME is not a build arg name');
    expect(named(calls(), 'docker', 'build')).toEqual([]);
    const none = runScript('build', baseEnv({ [BUILD_ENV.buildArgs]: '  ' }));
    expect(none.code, none.stderr).toBe(0);
    const build = named(calls(), 'docker', 'build')[0] ?? [];
    expect(build.filter((a) => a === '--build-arg')).toHaveLength(1);
    expect(build).toContain('BUILDKIT_INLINE_CACHE=1');
  });

  it('fails on a missing input, naming it', () => {
    writeScript();
    const env = baseEnv();
    delete env[BUILD_ENV.repositoryUri];
    const r = runScript('prepare', env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('SLIPWAY_REPOSITORY_URI is not set');
  });

  it('pushes nothing after a failed build (post_build runs after one)', () => {
    writeScript();
    expect(runScript('prepare', baseEnv()).code).toBe(0);
    expect(runScript('build', { ...baseEnv(), STUB_BUILD_FAILS: '1' }).code).not.toBe(0);
    const push = runScript('push', baseEnv());
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain('there is no image to push');
    expect(named(calls(), 'docker', 'push')).toEqual([]);
  });

  it('fails the push when ECR reports no digest, and exports nothing', () => {
    const outcome = runBuildspec(buildspec({ workDir: work }), { ...baseEnv(), STUB_DIGEST: 'not-a-digest' });
    expect(outcome.failed).toBe('post_build');
    expect(outcome.output).toContain('ECR reports no digest');
    expect(outcome.exported).toBe('');
  });

  it('runs the request CodeBuildBuilder sends (CodeBuild: aws-sdk-client-mock): the secret reaches docker, not the request', async () => {
    const codebuild = mockClient(CodeBuildClient);
    codebuild.on(StartBuildCommand).resolves({ build: { id: 'slipway-build:1' } });
    // The app's repository exists already (the builder asks before its first build).
    const ecr = mockClient(ECRClient);
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'slipway/demo' }] });
    const builder = new CodeBuildBuilder(
      { codebuild: new CodeBuildClient({ region: 'eu-west-1' }), ecr: new ECRClient({ region: 'eu-west-1' }) },
      { projectName: 'slipway-build', bundleBucket: 'slipway-bundles', repositoryUri: () => REPO, repositoryName: () => 'slipway/demo', appEnvSecret: (app) => `slipway/${app}/env`, buildspec: { workDir: work } },
    );
    try {
      await builder.start({
        app: 'demo',
        build: 'BABCDEFGHIJ',
        unit: { contextHash: HASH, path: 'app', manifest: 'Dockerfile', args: ['NODE_ENV=production', 'NPM_TOKEN'], services: ['web'], files: 2, bytes: 10 },
        bundle: { app: 'demo', key: 'apps/demo/bundles/b1.tgz', version: 'v-123', etag: `"${etag}"`, size: 1 },
      });
      const input = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
      expect(JSON.stringify(input)).not.toContain(SECRET_VALUE);
      // What CodeBuild would do: resolve the typed variables, then run the buildspec it was given.
      const secret: Record<string, string> = { NPM_TOKEN: SECRET_VALUE };
      const variables: Record<string, string> = {};
      for (const v of input?.environmentVariablesOverride ?? []) {
        if (v.name === undefined || v.value === undefined) continue;
        variables[v.name] = v.type === 'SECRETS_MANAGER' ? (secret[v.value.split(':').at(-1) ?? ''] ?? '') : v.value;
      }
      const spec = parse(input?.buildspecOverride ?? '') as Buildspec;
      const outcome = runBuildspec(spec, variables);
      expect(outcome.failed, outcome.output).toBeUndefined();
      expect(outcome.exported).toBe(`${REPO}@${DIGEST}`);
      expect(named(outcome.calls, 'docker', 'build')[0]).toContain(`NPM_TOKEN=${SECRET_VALUE}`);
      expect(outcome.output).not.toContain(SECRET_VALUE);
    } finally {
      codebuild.restore();
      ecr.restore();
    }
  });
});
