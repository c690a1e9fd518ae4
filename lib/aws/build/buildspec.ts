/**
 * The buildspec the AWS rack's CodeBuild project runs to build one build unit's image and push it
 * to the app's ECR repository. It is the same text for every build: everything that varies (the
 * bundle object, the build path and Dockerfile, the repository, the tags, the build args) arrives
 * as environment variables the adapter sets on StartBuild. Keeping values out of the text means
 * CodeBuild's failure messages, which quote the failing command, never quote a value.
 *
 * The work is a bash script (written by the first command, then run once per phase), so that
 * `set -euo pipefail` and `exit` apply to our steps only, whatever CodeBuild does between the
 * commands of a phase:
 *
 * - prepare (pre_build): check the inputs; if the repository already has an image tagged
 *   `ctx-<context hash>`, give it this build's tag with `batch-get-image` + `put-image` (no pull,
 *   no build); otherwise fetch the exact bundle version, check it, extract it and find the build
 *   path and Dockerfile inside it.
 * - build: log in to ECR and `docker build`, with BuildKit's inline cache from the unit's cache tag.
 * - push (post_build): push the image, context and cache tags, then ask ECR for the digest.
 *
 * The image, as `<repository>@sha256:…`, is left in the exported variable SLIPWAY_IMAGE, which
 * BatchGetBuilds returns (`exportedEnvironmentVariables`).
 */
import { stringify } from 'yaml';

/** The environment variables a build reads; the adapter sets them (as StartBuild overrides). */
export const BUILD_ENV = {
  bundleBucket: 'SLIPWAY_BUNDLE_BUCKET',
  bundleKey: 'SLIPWAY_BUNDLE_KEY',
  bundleVersion: 'SLIPWAY_BUNDLE_VERSION',
  /** The object's ETag without quotes; the download is conditional on it. */
  bundleEtag: 'SLIPWAY_BUNDLE_ETAG',
  /** The build path, relative to the bundle root (`.` for the root). */
  contextPath: 'SLIPWAY_CONTEXT_PATH',
  /** The Dockerfile, relative to the build path. */
  dockerfile: 'SLIPWAY_DOCKERFILE',
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
  repositoryUri: 'SLIPWAY_REPOSITORY_URI',
  repositoryName: 'SLIPWAY_REPOSITORY_NAME',
  /** This build's tag, `<service>.<build id>`. */
  imageTag: 'SLIPWAY_IMAGE_TAG',
  /** `ctx-<context hash>`: the tag an identical context is found by. */
  contextTag: 'SLIPWAY_CONTEXT_TAG',
  /**
   * The tag BuildKit's inline cache is read from and written to: one per unit (`cache.<service>`),
   * since an app's units build at once and a shared tag would hold whichever pushed last.
   */
  cacheTag: 'SLIPWAY_CACHE_TAG',
  /** The build args' names, separated by spaces; each value is in `SLIPWAY_ARG_<name>`. */
  buildArgs: 'SLIPWAY_BUILD_ARGS',
} as const;

/** Prefix of the variables that hold build arg values: `SLIPWAY_ARG_<name>`. */
export const BUILD_ARG_PREFIX = 'SLIPWAY_ARG_';

/** The exported variable that carries the image (`<repository>@sha256:…`) out of the build. */
export const IMAGE_VARIABLE = 'SLIPWAY_IMAGE';

/** Set by the buildspec itself: where the script and its state live. */
export const WORK_VARIABLE = 'SLIPWAY_WORK';
/** Set by the buildspec itself: `1` to reuse an image with the same context hash. */
export const REUSE_VARIABLE = 'SLIPWAY_REUSE';

export interface BuildspecOptions {
  /** Absolute folder for the script, the bundle and the state between phases; default `/tmp/slipway`. */
  readonly workDir?: string;
  /** Reuse an image the repository already has for the same context hash; default true. */
  readonly reuseByContextHash?: boolean;
}

export interface BuildspecPhase {
  readonly 'on-failure'?: 'ABORT' | 'CONTINUE';
  readonly commands: readonly string[];
}

export interface Buildspec {
  readonly version: 0.2;
  readonly env: {
    readonly shell: 'bash';
    readonly variables: Readonly<Record<string, string>>;
    readonly 'exported-variables': readonly string[];
  };
  readonly phases: {
    readonly pre_build: BuildspecPhase;
    readonly build: BuildspecPhase;
    readonly post_build: BuildspecPhase;
  };
}

const SCRIPT_END = 'SLIPWAY_BUILD_SCRIPT_END';
/** An absolute folder below the root, of plain names. */
const SAFE_DIR = /^(\/[A-Za-z0-9_][A-Za-z0-9._-]*)+$/;

/**
 * The build script. Every expansion is quoted; build arg values are only ever placed in the
 * `docker build` argument list, never printed; paths from the bundle are refused when absolute or
 * holding `..`, and again, after extraction, when a link leads them out of the bundle.
 */
export const BUILD_SCRIPT = `#!/usr/bin/env bash
# Slipway's image build: bash build.sh prepare|build|push (see lib/aws/build/buildspec.ts).
set -euo pipefail
# Command substitutions fail the script too, where bash has the option (4.4+); nothing here depends on it.
shopt -s inherit_errexit 2> /dev/null || true

fail() {
  echo "slipway: $1" >&2
  exit 1
}

say() {
  echo "slipway: $1"
}

# A value as the shell would quote it, for messages.
shown() {
  printf '%q' "$1"
}

require() {
  local name
  for name in "$@"; do
    if [ -z "\${!name:-}" ]; then fail "\${name} is not set"; fi
  done
}

# A path the bundle supplies must stay inside it: not absolute, no '..' part, no control character.
# Checked on the text before anything is fetched; links are checked once the bundle is extracted.
relative_path() {
  local what="$1" value="$2"
  if [[ "\${value}" == *[[:cntrl:]]* ]]; then fail "\${what} contains a control character"; fi
  case "\${value}" in
    /*) fail "\${what} $(shown "\${value}") is absolute; it must be relative to the bundle" ;;
  esac
  case "/\${value}/" in
    */../*) fail "\${what} $(shown "\${value}") contains '..'; it must stay inside the bundle" ;;
  esac
}

# Resolve a path, links included, and print it; fail when it leaves the bundle root.
within() {
  local what="$1" root="$2" path="$3" real
  real="$(realpath -e -- "\${path}")" || fail "\${what} does not exist in the bundle"
  case "\${real}/" in
    "\${root}"/*) echo "\${real}" ;;
    *) fail "\${what} leads outside the bundle through a link" ;;
  esac
}

check_tag() {
  if ! [[ "$2" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then fail "$1 $(shown "$2") is not an image tag"; fi
}

# How many images the repository has under a tag (0 or 1); a missing tag is no error to batch-get-image.
tag_count() {
  aws ecr batch-get-image --repository-name "\${SLIPWAY_REPOSITORY_NAME}" --image-ids "imageTag=$1" --query 'length(images)' --output text
}

# A field of the image under a tag, as ECR stores it: every manifest type is accepted, so none is converted.
image_field() {
  local types=(
    application/vnd.docker.distribution.manifest.v2+json
    application/vnd.oci.image.manifest.v1+json
    application/vnd.docker.distribution.manifest.list.v2+json
    application/vnd.oci.image.index.v1+json
  )
  aws ecr batch-get-image --repository-name "\${SLIPWAY_REPOSITORY_NAME}" --image-ids "imageTag=$1" --accepted-media-types "\${types[@]}" --query "images[0].$2" --output text
}

inputs() {
  require SLIPWAY_WORK SLIPWAY_BUNDLE_BUCKET SLIPWAY_BUNDLE_KEY SLIPWAY_BUNDLE_VERSION SLIPWAY_BUNDLE_ETAG
  require SLIPWAY_CONTEXT_PATH SLIPWAY_DOCKERFILE SLIPWAY_REPOSITORY_URI SLIPWAY_REPOSITORY_NAME
  require SLIPWAY_IMAGE_TAG SLIPWAY_CONTEXT_TAG SLIPWAY_CACHE_TAG
  relative_path 'the build path' "\${SLIPWAY_CONTEXT_PATH}"
  relative_path 'the Dockerfile' "\${SLIPWAY_DOCKERFILE}"
  check_tag 'the image tag' "\${SLIPWAY_IMAGE_TAG}"
  check_tag 'the context tag' "\${SLIPWAY_CONTEXT_TAG}"
  check_tag 'the cache tag' "\${SLIPWAY_CACHE_TAG}"
  state="\${SLIPWAY_WORK}/state"
  repo="\${SLIPWAY_REPOSITORY_URI}"
}

# Give this build's tag to the image an identical context made before: no pull, no build.
retag() {
  local existing media manifest
  existing="$(tag_count "\${SLIPWAY_IMAGE_TAG}")"
  if [ "\${existing}" != "0" ]; then
    say "\${repo}:\${SLIPWAY_IMAGE_TAG} exists already (a retried build)"
    return 0
  fi
  media="$(image_field "\${SLIPWAY_CONTEXT_TAG}" imageManifestMediaType)"
  manifest="$(image_field "\${SLIPWAY_CONTEXT_TAG}" imageManifest)"
  aws ecr put-image --repository-name "\${SLIPWAY_REPOSITORY_NAME}" --image-tag "\${SLIPWAY_IMAGE_TAG}" --image-manifest "\${manifest}" --image-manifest-media-type "\${media}" > /dev/null
}

# Fetch exactly the bundle version the deploy planned, only while its ETag matches, and check what came.
download() {
  local bundle="$1" if_match got got_version got_etag sum
  printf -v if_match '"%s"' "\${SLIPWAY_BUNDLE_ETAG}"
  got="$(aws s3api get-object --bucket "\${SLIPWAY_BUNDLE_BUCKET}" --key "\${SLIPWAY_BUNDLE_KEY}" --version-id "\${SLIPWAY_BUNDLE_VERSION}" --if-match "\${if_match}" --query '[VersionId, ETag]' --output text "\${bundle}")"
  read -r got_version got_etag <<< "\${got}"
  got_etag="$(tr -d '"' <<< "\${got_etag}")"
  if [ "\${got_version}" != "\${SLIPWAY_BUNDLE_VERSION}" ]; then fail "S3 sent version $(shown "\${got_version}") of the bundle, not $(shown "\${SLIPWAY_BUNDLE_VERSION}")"; fi
  if [ "\${got_etag}" != "\${SLIPWAY_BUNDLE_ETAG}" ]; then fail "the bundle's ETag is $(shown "\${got_etag}"), not $(shown "\${SLIPWAY_BUNDLE_ETAG}")"; fi
  # A single-part upload's ETag is the MD5 of its bytes (a multipart one has a '-<parts>' suffix).
  if [[ "\${SLIPWAY_BUNDLE_ETAG}" =~ ^[0-9a-f]{32}$ ]]; then
    sum="$(md5sum < "\${bundle}")"
    if [ "\${sum%% *}" != "\${SLIPWAY_BUNDLE_ETAG}" ]; then fail "the downloaded bundle does not match its ETag"; fi
  fi
}

prepare() {
  local found=0 root context dockerfile
  inputs
  rm -rf -- "\${state}" "\${SLIPWAY_WORK}/bundle" "\${SLIPWAY_WORK}/bundle.tar"
  mkdir -p -- "\${state}"
  if [ "\${SLIPWAY_REUSE:-1}" = "1" ]; then found="$(tag_count "\${SLIPWAY_CONTEXT_TAG}")"; fi
  if [ "\${found}" != "0" ]; then
    say "reusing \${repo}:\${SLIPWAY_CONTEXT_TAG}: an identical build context was built before"
    retag
    echo reused > "\${state}/mode"
    return 0
  fi
  download "\${SLIPWAY_WORK}/bundle.tar"
  mkdir -p -- "\${SLIPWAY_WORK}/bundle"
  # GNU tar detects gzip and refuses absolute and '..' member names.
  tar -xf "\${SLIPWAY_WORK}/bundle.tar" -C "\${SLIPWAY_WORK}/bundle" --no-same-owner
  rm -f -- "\${SLIPWAY_WORK}/bundle.tar"
  root="$(realpath -e -- "\${SLIPWAY_WORK}/bundle")"
  context="$(within 'the build path' "\${root}" "\${root}/\${SLIPWAY_CONTEXT_PATH}")"
  if [ ! -d "\${context}" ]; then fail "the build path $(shown "\${SLIPWAY_CONTEXT_PATH}") is not a folder"; fi
  dockerfile="$(within 'the Dockerfile' "\${root}" "\${context}/\${SLIPWAY_DOCKERFILE}")"
  if [ ! -f "\${dockerfile}" ]; then fail "the Dockerfile $(shown "\${SLIPWAY_DOCKERFILE}") is not a file"; fi
  echo "\${context}" > "\${state}/context"
  echo "\${dockerfile}" > "\${state}/dockerfile"
  echo build > "\${state}/mode"
}

build() {
  local mode context dockerfile name var
  local docker_build=()
  inputs
  mode="$(cat -- "\${state}/mode")"
  if [ "\${mode}" = "reused" ]; then
    say "nothing to build: the image was reused"
    return 0
  fi
  context="$(cat -- "\${state}/context")"
  dockerfile="$(cat -- "\${state}/dockerfile")"
  docker_build=(docker build --file "\${dockerfile}" --tag "\${repo}:\${SLIPWAY_IMAGE_TAG}" --cache-from "\${repo}:\${SLIPWAY_CACHE_TAG}")
  # Each value is read from the environment (typed variables are resolved there) and handed to docker only.
  # The names are read one a line (no array that could be empty: bash before 4.4 calls that unbound).
  while IFS= read -r name; do
    if [ -z "\${name}" ]; then continue; fi
    if ! [[ "\${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then fail "$(shown "\${name}") is not a build arg name"; fi
    var="SLIPWAY_ARG_\${name}"
    # No value: the Dockerfile's ARG default applies, as with docker when the arg has no value.
    if [ -z "\${!var+set}" ]; then continue; fi
    docker_build+=(--build-arg "\${name}=\${!var}")
  done < <(tr ' ' '\\n' <<< "\${SLIPWAY_BUILD_ARGS:-}")
  docker_build+=(--build-arg BUILDKIT_INLINE_CACHE=1 "\${context}")
  aws ecr get-login-password | docker login --username AWS --password-stdin "\${repo%%/*}"
  DOCKER_BUILDKIT=1 "\${docker_build[@]}"
  : > "\${state}/built"
}

push() {
  local mode tag digest
  inputs
  mode="$(cat -- "\${state}/mode")"
  if [ "\${mode}" != "reused" ]; then
    # post_build runs after a failed build too: never push what this build did not finish.
    if [ ! -f "\${state}/built" ]; then fail "there is no image to push: the build did not finish"; fi
    docker tag "\${repo}:\${SLIPWAY_IMAGE_TAG}" "\${repo}:\${SLIPWAY_CONTEXT_TAG}"
    docker tag "\${repo}:\${SLIPWAY_IMAGE_TAG}" "\${repo}:\${SLIPWAY_CACHE_TAG}"
    # The context tag follows the image tag: it promises a complete image.
    for tag in "\${SLIPWAY_IMAGE_TAG}" "\${SLIPWAY_CONTEXT_TAG}" "\${SLIPWAY_CACHE_TAG}"; do
      docker push "\${repo}:\${tag}"
    done
  fi
  digest="$(image_field "\${SLIPWAY_IMAGE_TAG}" imageId.imageDigest)"
  if ! [[ "\${digest}" =~ ^sha256:[0-9a-f]{64}$ ]]; then fail "ECR reports no digest for \${repo}:\${SLIPWAY_IMAGE_TAG}"; fi
  echo "\${repo}@\${digest}" > "\${state}/image"
  say "image \${repo}@\${digest}"
}

if [ "$#" -ne 1 ]; then fail "usage: build.sh prepare|build|push"; fi
case "$1" in
  prepare) prepare ;;
  build) build ;;
  push) push ;;
  *) fail "usage: build.sh prepare|build|push" ;;
esac
`;

export function buildspec(options: BuildspecOptions = {}): Buildspec {
  const workDir = options.workDir ?? '/tmp/slipway';
  // The script empties parts of this folder before it starts: it must be a plain folder, never `/`.
  if (!SAFE_DIR.test(workDir) || workDir.split('/').includes('..')) throw new Error(`buildspec workDir ${JSON.stringify(workDir)} must be an absolute path of plain characters`);
  if (BUILD_SCRIPT.split('\n').includes(SCRIPT_END)) throw new Error('the build script contains its own end marker');
  const script = `"\${${WORK_VARIABLE}}/build.sh"`;
  return {
    version: 0.2,
    env: {
      shell: 'bash',
      variables: { [WORK_VARIABLE]: workDir, [REUSE_VARIABLE]: options.reuseByContextHash === false ? '0' : '1' },
      'exported-variables': [IMAGE_VARIABLE],
    },
    phases: {
      pre_build: {
        'on-failure': 'ABORT',
        commands: [
          // The quoted end marker keeps the script's text literal: nothing in it is expanded here.
          `mkdir -p "\${${WORK_VARIABLE}}" && cat > ${script} <<'${SCRIPT_END}'\n${BUILD_SCRIPT}${SCRIPT_END}\n`,
          `bash ${script} prepare`,
        ],
      },
      build: { 'on-failure': 'ABORT', commands: [`bash ${script} build`] },
      post_build: {
        commands: [
          `bash ${script} push`,
          // Set in CodeBuild's own shell, so exported-variables sees it; the assignment fails if the file is missing.
          `${IMAGE_VARIABLE}="$(cat "\${${WORK_VARIABLE}}/state/image")" && export ${IMAGE_VARIABLE}`,
        ],
      },
    },
  };
}

export function buildspecYaml(options: BuildspecOptions = {}): string {
  // Long lines stay whole (lineWidth 0): a folded command would still work, but reads worse in the console.
  return stringify(buildspec(options), { lineWidth: 0 });
}
