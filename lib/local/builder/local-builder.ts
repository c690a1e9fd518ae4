/**
 * The local rack's builder: a Dockerfile built on this machine without Docker. Each stage builds
 * in its own folder (its rootfs); the host's toolchain stands in for the base images, `RUN` runs
 * on the host with the stage's folder as its working directory, and `COPY` writes only inside the
 * stage's folder, resolving paths and links as a chroot would. The result is a local image (see
 * ../image.ts), kept per app by build-context hash, so an unchanged context is never rebuilt.
 *
 * Builds run in the background: `start` answers at once with a ref and `status` is polled. Each
 * build's state is a small JSON file, so refs outlive the process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { SlipwayError } from '../../errors';
import { contextDir } from '../../pipeline/build/context';
import { cleanPath, DockerIgnore } from '../../pipeline/build/dockerignore';
import { redact } from '../../pipeline/events';
import type { Builder, BuildRequest, BuildState } from '../../pipeline/ports/runtime';
import { IMAGE_CONFIG_FILE, IMAGE_ROOT_DIR, type LocalImageConfig } from '../image';
import { parseDockerfile, resolveBuildArgs, stagesToBuild, type CopyStep, type ImageSettings, type RunStep, type Stage, type Step } from './dockerfile';

export interface BuildOutputLine {
  readonly app: string;
  readonly build: string;
  readonly services: readonly string[];
  readonly stream: 'stdout' | 'stderr' | 'step';
  readonly text: string;
}

export interface LocalBuilderOptions {
  readonly stateDir: string;
  readonly onOutput?: (line: BuildOutputLine) => void;
  /** Builds running at once; more wait their turn. */
  readonly maxParallel?: number;
  /** The app's environment, where a bare `KEY` build arg takes its value. */
  readonly appEnv?: (app: string) => Promise<Readonly<Record<string, string>>>;
}

export class BuildStepError extends SlipwayError {
  constructor(
    readonly problem: string,
    at?: { readonly file: string; readonly line: number; readonly text: string },
    options?: { cause?: unknown },
  ) {
    super(at ? `${at.file} line ${at.line} (${brief(at.text)}): ${problem}` : problem, 'BUILD_STEP_FAILED', at ? { file: at.file, line: at.line } : {}, options);
  }
}

export class BuildRequestError extends SlipwayError {
  constructor(field: string, value: string) {
    super(`the local builder cannot use ${field} ${JSON.stringify(value)} as a folder name`, 'BUILD_REQUEST_INVALID', { [field]: value });
  }
}

interface BuildRecord {
  readonly ref: string;
  readonly app: string;
  readonly build: string;
  readonly services: readonly string[];
  readonly contextHash: string;
  readonly state: BuildState;
  readonly startedAt: string;
  readonly endedAt?: string;
}

interface Job {
  readonly request: BuildRequest;
  readonly ref: string;
  readonly work: string;
  readonly context: string;
  /** Build-arg values, kept out of the output and the failure reason. */
  readonly secrets: string[];
  readonly out: (stream: BuildOutputLine['stream'], text: string) => void;
  readonly closeLog: () => Promise<void>;
}

export const RACK_STOPPED = 'the rack stopped during the build';
const TAIL_LINES = 20;
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CONTEXT_HASH = /^[0-9a-f]{16,128}$/;
const MAX_LINK_HOPS = 40;
const COMPRESSION_MAGIC = [Buffer.from([0x1f, 0x8b]), Buffer.from('BZh'), Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];

/** Builds in progress in this process, by state folder and ref: a running record not here was cut off by a restart. */
const ACTIVE = new Set<string>();

export class LocalBuilder implements Builder {
  private readonly stateDir: string;
  private readonly maxParallel: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly options: LocalBuilderOptions) {
    this.stateDir = resolve(options.stateDir);
    this.maxParallel = Math.max(1, options.maxParallel ?? 2);
  }

  async start(request: BuildRequest): Promise<{ ref: string }> {
    const { app, build, unit } = request;
    if (!SAFE_NAME.test(app)) throw new BuildRequestError('app', app);
    if (!SAFE_NAME.test(build)) throw new BuildRequestError('build', build);
    if (!CONTEXT_HASH.test(unit.contextHash)) throw new BuildRequestError('context hash', unit.contextHash);
    const ref = `${build}-${unit.contextHash.slice(0, 12)}`;
    const key = this.key(ref);
    if (ACTIVE.has(key)) return { ref };
    // Claimed before any wait, so a second start of this build while it prepares joins it.
    ACTIVE.add(key);
    const record = { ref, app, build, services: unit.services, contextHash: unit.contextHash, startedAt: new Date().toISOString() };
    const job = await this.job(request, ref);
    const finish = async (state: BuildState): Promise<void> => {
      try {
        await rm(job.work, { recursive: true, force: true });
        await job.closeLog();
        await this.save({ ...record, state, endedAt: new Date().toISOString() });
      } finally {
        ACTIVE.delete(key);
      }
    };
    try {
      const image = this.imageDir(app, unit.contextHash);
      if (await exists(join(image, IMAGE_CONFIG_FILE))) {
        job.out('step', `cached: the image of build context ${unit.contextHash.slice(0, 12)} exists (${image})`);
        await finish({ state: 'succeeded', image });
        return { ref };
      }
      await this.save({ ...record, state: { state: 'running' } });
      // The bundle folder goes when the deploy ends: the context is copied before start returns.
      if (request.bundleDir === undefined) throw new BuildStepError('the local builder needs the extracted bundle (bundleDir)');
      await rm(job.work, { recursive: true, force: true });
      await copyContext(request.bundleDir, unit, job.context);
    } catch (e) {
      await finish(failure(e, job.secrets));
      return { ref };
    }
    // build() never throws; if saving the outcome fails, the record still says running, which
    // status then reports as a build the rack lost.
    const task = this.inTurn(() => this.build(job))
      .then(finish)
      .catch(() => undefined);
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
    return { ref };
  }

  async status(ref: string): Promise<BuildState> {
    if (!SAFE_NAME.test(ref)) return { state: 'failed', reason: `${JSON.stringify(ref)} is not a build of this rack` };
    // Checked before reading the record: a build ends by saving its record, then leaving ACTIVE.
    if (ACTIVE.has(this.key(ref))) return { state: 'running' };
    const record = await this.load(ref);
    if (!record) return { state: 'failed', reason: `there is no build ${ref} on this rack` };
    if (record.state.state !== 'running') return record.state;
    const state = { state: 'failed', reason: RACK_STOPPED } as const;
    await rm(this.workDir(ref), { recursive: true, force: true });
    await this.save({ ...record, state, endedAt: new Date().toISOString() });
    return state;
  }

  async deleteImages(app: string, images: readonly string[]): Promise<void> {
    if (!SAFE_NAME.test(app)) return;
    const appDir = join(this.stateDir, 'images', app);
    for (const image of images) {
      // Only a folder directly in the app's images, named by a context hash, is one of its images.
      const name = relative(appDir, resolve(image));
      if (CONTEXT_HASH.test(name)) await rm(join(appDir, name), { recursive: true, force: true });
    }
  }

  /** Resolves when every build this builder started has ended (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all(this.tasks);
  }

  private key(ref: string): string {
    return `${this.stateDir}\0${ref}`;
  }

  private imageDir(app: string, contextHash: string): string {
    return join(this.stateDir, 'images', app, contextHash);
  }

  private workDir(ref: string): string {
    return join(this.stateDir, 'work', ref);
  }

  private recordFile(ref: string): string {
    return join(this.stateDir, 'builds', `${ref}.json`);
  }

  private async save(record: BuildRecord): Promise<void> {
    const file = this.recordFile(record.ref);
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
    await rename(temp, file);
  }

  private async load(ref: string): Promise<BuildRecord | undefined> {
    const text = await readFile(this.recordFile(ref), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as BuildRecord);
  }

  /** The build's job; it never fails: a log that cannot be written must not fail the build (its output still reaches onOutput). */
  private async job(request: BuildRequest, ref: string): Promise<Job> {
    const logFile = join(this.stateDir, 'logs', 'builds', `${request.build}.log`);
    await mkdir(dirname(logFile), { recursive: true }).catch(() => undefined);
    const log = createWriteStream(logFile, { flags: 'a' });
    log.on('error', () => undefined);
    const work = this.workDir(ref);
    const secrets: string[] = [];
    const base = { app: request.app, build: request.build, services: request.unit.services };
    return {
      request,
      ref,
      work,
      context: join(work, 'context'),
      secrets,
      out: (stream, text) => {
        const clean = redact(text, secrets);
        // A build's units share its log and run at once: each line says whose it is.
        log.write(`[${request.unit.services.join(',')}] ${clean}\n`);
        this.options.onOutput?.({ ...base, stream, text: clean });
      },
      closeLog: () => new Promise((done) => log.end(done)),
    };
  }

  /** Run `work` when fewer than maxParallel builds are running. */
  private async inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.maxParallel) this.running++;
    else await new Promise<void>((turn) => this.waiting.push(turn));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next build waiting, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async build(job: Job): Promise<BuildState> {
    const { app, unit } = job.request;
    try {
      const env = (await this.options.appEnv?.(app)) ?? {};
      job.secrets.push(...resolveBuildArgs(unit.args, env).values());
      const file = unit.manifest || 'Dockerfile';
      const text = await readFile(join(job.context, cleanPath(file)), 'utf8');
      const dockerfile = parseDockerfile(text, { file, buildArgs: unit.args, env, baseEnv: { PATH: hostPath() }, predefinedArgs: platformArgs() });
      for (const w of dockerfile.warnings) job.out('step', `warning: ${w.line === undefined ? '' : `${file} line ${w.line}: `}${w.message}`);
      const stages = stagesToBuild(dockerfile);
      const total = stages.reduce((n, s) => n + 1 + s.steps.length, 0);
      let step = 0;
      const roots = new Map<number, string>();
      await mkdir(join(job.work, 'home'), { recursive: true });
      for (const stage of stages) {
        job.out('step', `Step ${++step}/${total} : ${brief(stage.text)}`);
        const root = await this.startStage(job, stage, roots);
        for (const s of stage.steps) {
          job.out('step', `Step ${++step}/${total} : ${brief(s.text)}`);
          await this.runStep(job, s, root, roots).catch((e: unknown) => {
            throw new BuildStepError(e instanceof BuildStepError ? e.problem : errorMessage(e), { file, ...s }, { cause: e });
          });
        }
        roots.set(stage.index, root);
      }
      const last = stages.at(-1);
      if (!last) throw new BuildStepError(`${file} has no stage`);
      const image = await this.writeImage(job, rootOf(roots, last.index), last.settings);
      job.out('step', `built ${image}`);
      return { state: 'succeeded', image };
    } catch (e) {
      return failure(e, job.secrets);
    }
  }

  private async startStage(job: Job, stage: Stage, roots: ReadonlyMap<number, string>): Promise<string> {
    const root = join(job.work, 'stages', String(stage.index));
    if ('stage' in stage.from) await copyEntry(rootOf(roots, stage.from.stage), root);
    else {
      await mkdir(root, { recursive: true });
      job.out('step', `${stage.from.image}: the host's toolchain stands in for the base image`);
    }
    return root;
  }

  private async runStep(job: Job, step: Step, root: string, roots: ReadonlyMap<number, string>): Promise<void> {
    if (step.kind === 'workdir') await mkdirIn(root, step.path);
    else if (step.kind === 'run') await runCommand(job, step, await mkdirIn(root, step.workdir), await runEnv(job, step, root));
    else await copyStep(step, root, step.from === undefined ? job.context : rootOf(roots, step.from), join(job.work, 'scratch'));
  }

  /** Assemble the image in the work folder, then move it into place in one rename. */
  private async writeImage(job: Job, rootfs: string, settings: ImageSettings): Promise<string> {
    const { app, unit } = job.request;
    const staging = join(job.work, 'image');
    await mkdir(staging, { recursive: true });
    await rename(rootfs, join(staging, IMAGE_ROOT_DIR));
    const { workdir, env, entrypoint, cmd, expose } = settings;
    const config: LocalImageConfig = { version: 1, workdir, env, entrypoint, cmd, expose, contextHash: unit.contextHash };
    await writeFile(join(staging, IMAGE_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    const target = this.imageDir(app, unit.contextHash);
    await mkdir(dirname(target), { recursive: true });
    // A build of the same context that finished first made an equal image; a folder without
    // image.json is what an interrupted delete leaves.
    const done = (): Promise<boolean> => exists(join(target, IMAGE_CONFIG_FILE));
    if (await done()) return target;
    await rm(target, { recursive: true, force: true });
    await rename(staging, target).catch(async (e: unknown) => {
      if (!(await done())) throw e;
    });
    return target;
  }
}

function brief(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > 100 || text.includes('\n') ? `${first.slice(0, 100)}…` : first;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function failure(e: unknown, secrets: readonly string[]): BuildState {
  const reason = e instanceof SlipwayError ? e.message : `the build failed: ${errorMessage(e)}`;
  return { state: 'failed', reason: redact(reason, secrets) };
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

function rootOf(roots: ReadonlyMap<number, string>, stage: number): string {
  const root = roots.get(stage);
  if (root === undefined) throw new BuildStepError(`stage ${stage} has not been built`);
  return root;
}

function hostPath(): string {
  return process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
}

/** The platform args BuildKit predefines, for this machine. */
function platformArgs(): Record<string, string> {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const arch = ({ x64: 'amd64', ia32: '386' } as Partial<Record<string, string>>)[process.arch] ?? process.arch;
  const platform = `${os}/${arch}`;
  return { TARGETPLATFORM: platform, TARGETOS: os, TARGETARCH: arch, TARGETVARIANT: '', BUILDPLATFORM: platform, BUILDOS: os, BUILDARCH: arch, BUILDVARIANT: '' };
}

/** Copy the build context as Docker would send it: what .dockerignore leaves (the Dockerfile and .dockerignore always), links as links. */
async function copyContext(bundleDir: string, unit: BuildRequest['unit'], target: string): Promise<void> {
  const dir = await contextDir(bundleDir, unit.path);
  const dockerfile = cleanPath(unit.manifest || 'Dockerfile');
  const ignore = new DockerIgnore(await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => ''));
  await mkdir(target, { recursive: true });
  const walk = async (folder: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const full = join(folder, name);
      const rel = relative(dir, full).split(sep).join('/');
      const stats = await lstat(full);
      const ignored = ignore.ignores(rel) && rel !== dockerfile && rel !== '.dockerignore';
      const dest = join(target, rel);
      if (stats.isDirectory()) {
        if (!ignored) await mkdir(dest, { recursive: true });
        // An ignored folder can only hold something included again by a `!` pattern.
        if (!ignored || ignore.hasExclusions) await walk(full);
      } else if (!ignored && (stats.isFile() || stats.isSymbolicLink())) {
        await mkdir(dirname(dest), { recursive: true });
        await (stats.isFile() ? copyFile(full, dest) : symlink(await readlink(full), dest));
      }
    }
  };
  await walk(dir);
}

/**
 * Where a container path is under `root`, resolving links as a chroot would: an absolute link
 * target starts again at `root` and `..` stops there, so the result never leaves `root`.
 */
async function resolveInRoot(root: string, containerPath: string): Promise<string> {
  const pending = containerPath.split('/');
  let parts: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift() ?? '';
    if (name === '' || name === '.') continue;
    if (name === '..') {
      parts.pop();
      continue;
    }
    const host = join(root, ...parts, name);
    const stats = await lstat(host).catch(() => undefined);
    if (stats?.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new BuildStepError(`too many links in ${containerPath}`);
      const target = await readlink(host);
      if (target.startsWith('/')) parts = [];
      pending.unshift(...target.split('/'));
      continue;
    }
    parts.push(name);
  }
  return join(root, ...parts);
}

async function mkdirIn(root: string, containerPath: string): Promise<string> {
  const host = await resolveInRoot(root, containerPath);
  await mkdir(host, { recursive: true });
  return host;
}

/** Copy a file, link or folder to `target`, replacing what is there (a folder onto a folder merges); links are copied, never followed. */
async function copyEntry(source: string, target: string, mode?: number): Promise<void> {
  const stats = await lstat(source);
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(stats.isDirectory() && existing.isDirectory())) await rm(target, { recursive: true, force: true });
  if (stats.isDirectory()) {
    if (!existing?.isDirectory()) await mkdir(target, { mode: stats.mode & 0o7777 });
    await copyContents(source, target, mode);
  } else if (stats.isSymbolicLink()) await symlink(await readlink(source), target);
  else if (stats.isFile()) await copyFile(source, target);
  else return;
  if (mode !== undefined && !stats.isSymbolicLink()) await chmod(target, mode);
}

async function copyContents(source: string, target: string, mode?: number): Promise<void> {
  for (const name of await readdir(source)) await copyEntry(join(source, name), join(target, name), mode);
}

/** A Go filepath.Match segment pattern (`*`, `?`, `[...]`, `\` escapes) as a regular expression. */
function segmentPattern(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charAt(i);
    const close = c === '[' ? segment.indexOf(']', i + 1) : -1;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (close > i) {
      re += `[${segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else {
      if (c === '\\' && i + 1 < segment.length) i++;
      re += segment.charAt(i).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/** The paths under `root` a COPY source names, wildcards expanded; each with the name it is copied as. */
async function matchSources(root: string, source: string, where: string): Promise<{ host: string; name: string }[]> {
  let candidates = [''];
  for (const part of posix.normalize(`/${source}`).split('/')) {
    if (part === '') continue;
    if (!/[*?[]/.test(part)) {
      candidates = candidates.map((c) => `${c}/${part}`);
      continue;
    }
    const pattern = segmentPattern(part);
    const next: string[] = [];
    for (const c of candidates) {
      const names = await readdir(await resolveInRoot(root, c)).catch(() => [] as string[]);
      for (const name of names.sort()) if (pattern.test(name)) next.push(`${c}/${name}`);
    }
    candidates = next;
  }
  const found: { host: string; name: string }[] = [];
  for (const c of candidates) {
    const host = await resolveInRoot(root, c);
    if (await exists(host)) found.push({ host, name: posix.basename(c) });
  }
  if (found.length === 0) throw new BuildStepError(`${source} was not found in ${where}`);
  return found;
}

async function copyStep(step: CopyStep, root: string, sourceRoot: string, scratch: string): Promise<void> {
  const where = step.from === undefined ? 'the build context' : `stage ${step.from}`;
  // One source at a time, in the Dockerfile's order, so a step with two missing sources always names the first.
  const sources: { host: string; name: string }[] = [];
  for (const source of step.sources) sources.push(...(await matchSources(sourceRoot, source, where)));
  if (sources.length > 1 && !step.destIsDir) throw new BuildStepError(`the sources match ${sources.length} paths: the destination must end in /`);
  for (const source of sources) {
    const stats = await lstat(source.host);
    if (stats.isDirectory()) await copyContents(source.host, await mkdirIn(root, step.dest), step.mode);
    else if (step.instruction === 'ADD' && (await isTarArchive(source.host))) await extractInto(source.host, await mkdirIn(root, step.dest), scratch, step.mode);
    else {
      const destStats = await lstat(await resolveInRoot(root, step.dest)).catch(() => undefined);
      const target = step.destIsDir || destStats?.isDirectory() ? join(await mkdirIn(root, step.dest), source.name) : join(await mkdirIn(root, posix.dirname(step.dest)), posix.basename(step.dest));
      await copyEntry(source.host, target, step.mode);
    }
  }
}

/** A local tar archive (plain or compressed), which ADD unpacks, as Docker does: decided by content, not name. */
async function isTarArchive(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(512);
  const { bytesRead } = await handle.read(head, 0, 512, 0).finally(() => handle.close());
  const compressed = COMPRESSION_MAGIC.some((magic) => head.subarray(0, magic.length).equals(magic));
  const tar = bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  // A compressed file holds a tar archive only if tar can list it.
  return tar || (compressed && (await tarCommand(['-tf', path])).code === 0);
}

/** Unpack into a scratch folder first, then copy in: the copy, not tar, decides where files land. */
async function extractInto(archive: string, dest: string, scratch: string, mode?: number): Promise<void> {
  const temp = join(scratch, randomBytes(6).toString('hex'));
  await mkdir(temp, { recursive: true });
  try {
    const { code, stderr } = await tarCommand(['-xf', archive, '-C', temp, '--no-same-owner']);
    if (code !== 0) throw new BuildStepError(`unpacking ${posix.basename(archive)} failed: ${stderr.trim()}`);
    await copyContents(temp, dest, mode);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

function tarCommand(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stderr }));
  });
}

/** Call `onLine` with each line of a stream, the last one even without a newline. */
function eachLine(stream: Readable, onLine: (text: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split(/\r?\n/);
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}

/**
 * RUN's environment: the stage's, plus the host's PATH. A PATH entry or HOME the Dockerfile set
 * names a container path: each PATH entry is searched in the stage's folder first, and HOME is
 * made there (or in the build's folder, if the Dockerfile sets none).
 */
async function runEnv(job: Job, step: RunStep, root: string): Promise<Record<string, string>> {
  const host = hostPath();
  const hostEntries = new Set(host.split(':'));
  const { PATH: path, HOME: home } = step.env;
  const mapped = path?.split(':').flatMap((e) => (e.startsWith('/') && !hostEntries.has(e) ? [join(root, posix.normalize(e)), e] : [e]));
  return { ...step.env, PATH: mapped?.join(':') ?? host, HOME: home === undefined ? join(job.work, 'home') : await mkdirIn(root, home) };
}

async function runCommand(job: Job, step: RunStep, cwd: string, env: Record<string, string>): Promise<void> {
  const [command, ...args] = step.argv;
  if (command === undefined) throw new BuildStepError('RUN has no command');
  const tail: string[] = [];
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (stream: 'stdout' | 'stderr') => (text: string) => {
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      job.out(stream, text);
    };
    eachLine(child.stdout, collect('stdout'));
    eachLine(child.stderr, collect('stderr'));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal }));
  });
  if (ended.code === 0) return;
  const how = ended.code === null ? `was killed by ${ended.signal ?? 'a signal'}` : `exited with code ${ended.code}`;
  throw new BuildStepError(`${how}${tail.length > 0 ? `; its last output:\n${tail.join('\n')}` : ''}`);
}
