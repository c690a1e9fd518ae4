/**
 * What every local resource engine provides: how to create its data, the command that serves
 * it, how to tell it is ready, and the connection Convox would give a linked service.
 */
import { chown, mkdir, writeFile } from 'node:fs/promises';
import type { Resource } from '../../manifest';
import { ResourceStartError } from './errors';
import { LOOPBACK, redactor, runCommand, type RunResult, type ServerUser } from './processes';

/** The kinds of data a resource holds; a resource never changes kind (its data would be lost). */
export type ResourceKind = 'postgres' | 'mysql' | 'redis' | 'memcached';

/** The program that serves a resource; recorded at creation, as it decides the data format. */
export type EngineName = 'postgres' | 'pglite' | 'mysql' | 'mariadb' | 'redis' | 'memcached';

/**
 * Each Convox resource type and the kind that runs it locally. The AWS-managed types (RDS,
 * ElastiCache) run as their containerised equivalent, as the rack has no AWS to ask.
 */
export const KIND_OF_TYPE: Readonly<Record<string, ResourceKind>> = {
  postgres: 'postgres',
  postgis: 'postgres',
  'rds-postgres': 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  'rds-mysql': 'mysql',
  'rds-mariadb': 'mysql',
  redis: 'redis',
  'elasticache-redis': 'redis',
  memcached: 'memcached',
  'elasticache-memcached': 'memcached',
};

/** Test and packaging overrides of where the server programs are. */
export interface LocalResourceBinaries {
  /** A PostgreSQL bin directory holding `initdb` and `postgres`; if it has none, PGlite serves postgres resources. */
  readonly postgres?: string;
  /** The `redis-server` program. */
  readonly redis?: string;
  /** The `mysqld` or `mariadbd` program. */
  readonly mysql?: string;
  /** The `memcached` program. */
  readonly memcached?: string;
}

/** A resource's connection, under the keys of Convox's `resource-<name>` ConfigMap. */
export interface ResourceCredentials {
  readonly URL: string;
  readonly USER: string;
  readonly PASS: string;
  readonly HOST: string;
  readonly PORT: string;
  readonly NAME: string;
}

export type Probe = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface EngineContext {
  readonly app: string;
  readonly resource: Resource;
  /** The resource folder: `<stateDir>/resources/<app>/<resource>`. */
  readonly dir: string;
  /** Where the server keeps its data (`<dir>/data`), owned by `runAs` when set. */
  readonly dataDir: string;
  readonly logFile: string;
  readonly port: number;
  readonly password: string;
  /** The user the server runs as, when the rack runs as root; otherwise the rack's own user. */
  readonly runAs: ServerUser | undefined;
  readonly signal: AbortSignal;
  /** Output for the user: to onOutput and the log file, with the password redacted. */
  readonly log: (text: string) => void;
}

export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Where a resource's server lives, to recognise its process. */
export interface ServerPlace {
  readonly dir: string;
  readonly dataDir: string;
  readonly port: number;
}

/**
 * What is known of an engine without its programs: the connection it gives, and how to
 * recognise and stop its server (one a previous run of the rack left, say).
 */
export interface EngineTraits {
  /** The signal that stops the server quickly but cleanly. */
  readonly stopSignal: NodeJS.Signals;
  credentials(port: number, password: string): ResourceCredentials;
  /** Whether a process with this command line is the server of the resource at `place`. */
  owns(commandLine: string, place: ServerPlace): boolean;
}

export interface Engine {
  readonly name: EngineName;
  readonly kind: ResourceKind;
  readonly traits: EngineTraits;
  /** When the rack runs as root: the users the server may run as, first existing wins; undefined to run as root. */
  readonly unprivilegedUsers: readonly string[] | undefined;
  /** Fill the empty data folder (first start only). */
  init(ctx: EngineContext): Promise<void>;
  /** Write what a start needs (configuration) and say what to run. */
  server(ctx: EngineContext): Promise<ServerCommand>;
  /** Whether the server accepts a connection and authenticates; never throws. */
  probe(ctx: EngineContext): Promise<Probe>;
  /** Tidy up after the server is ready (remove files that held the password for the first start). */
  afterReady?(ctx: EngineContext): Promise<void>;
  /** What the user should know about how this engine serves the resource (versions, extensions). */
  notes(resource: Resource): Promise<readonly string[]>;
}

export function postgresCredentials(port: number, password: string): ResourceCredentials {
  return { URL: `postgres://app:${password}@${LOOPBACK}:${port}/app?sslmode=disable`, USER: 'app', PASS: password, HOST: LOOPBACK, PORT: String(port), NAME: 'app' };
}

/** Write a file only its owner reads: `runAs` when the server reads it, the rack otherwise. */
export async function writePrivateFile(path: string, content: string, runAs: ServerUser | undefined): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  if (runAs) await chown(path, runAs.uid, runAs.gid);
}

/** A folder for the server's own files (sockets, pid files). */
export async function makeServerDir(path: string, runAs: ServerUser | undefined): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (runAs) await chown(path, runAs.uid, runAs.gid);
}

/**
 * Run one initialisation step as the server's user, with its output in the log; a failure
 * (a non-zero exit, or a line `failOn` matches) is a start error.
 */
export async function runStep(ctx: EngineContext, what: string, command: string, args: readonly string[], options: { readonly input?: string; readonly env: Readonly<Record<string, string>>; readonly failOn?: RegExp }): Promise<RunResult> {
  let result: RunResult;
  try {
    result = await runCommand(command, args, {
      cwd: ctx.dir,
      env: options.env,
      ...(ctx.runAs ? { runAs: ctx.runAs } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
      signal: ctx.signal,
      onLine: ctx.log,
    });
  } catch (error) {
    throw new ResourceStartError(ctx.app, ctx.resource.name, `${what} could not run ${command}: ${(error as Error).message}`, ctx.logFile);
  }
  const failed = result.code !== 0 || (options.failOn !== undefined && result.lines.some((l) => options.failOn?.test(l)));
  if (failed && !ctx.signal.aborted) {
    const how = result.code !== 0 ? (result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`) : 'reported an error';
    throw new ResourceStartError(ctx.app, ctx.resource.name, `${what} failed: ${command} ${how}`, ctx.logFile, result.lines.slice(-10).map(redactor([ctx.password])));
  }
  return result;
}

/** A note when the manifest asks for a version other than the installed one (Convox picks an image by it). */
export function versionNote(resource: Resource, installed: string | undefined, program: string): readonly string[] {
  const wanted = resource.options.version;
  if (wanted === undefined || wanted === '') return [];
  if (installed !== undefined && (installed === wanted || installed.startsWith(`${wanted}.`))) return [];
  return [`options.version ${wanted} asked for; the local rack runs the installed ${program}${installed ? ` ${installed}` : ''}`];
}
