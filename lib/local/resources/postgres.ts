/**
 * postgres and postgis resources on the host's PostgreSQL: `initdb` with user `app` and its
 * password (SCRAM), database `app` created in single-user mode, then `postgres` listening on
 * 127.0.0.1 only with its unix socket in the resource folder. PostgreSQL refuses to run as
 * root, so a root rack runs it as an unprivileged user that owns the data folder.
 */
import { execFile } from 'node:child_process';
import { access, readdir, realpath, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Resource } from '../../manifest';
import { type Engine, type EngineContext, type EngineTraits, type Probe, type ServerCommand, makeServerDir, postgresCredentials, runStep, versionNote, writePrivateFile } from './engine';
import { probePostgres } from './postgres-wire';
import { LOOPBACK, executable, serverEnv } from './processes';

export interface PostgresInstall {
  readonly binDir: string;
  readonly initdb: string;
  readonly postgres: string;
}

/** Where distributions put PostgreSQL's programs when they are not on PATH, newest first within each. */
async function versionedBinDirs(): Promise<string[]> {
  const out: string[] = [];
  const byVersion = (names: string[], prefix: string) =>
    names
      .filter((n) => n.startsWith(prefix))
      .sort((a, b) => Number.parseFloat(b.slice(prefix.length)) - Number.parseFloat(a.slice(prefix.length)));
  const list = async (dir: string) => readdir(dir).catch(() => [] as string[]);
  for (const v of byVersion(await list('/usr/lib/postgresql'), '')) out.push(`/usr/lib/postgresql/${v}/bin`);
  for (const v of byVersion(await list('/usr'), 'pgsql-')) out.push(`/usr/${v}/bin`);
  for (const root of ['/opt/homebrew/opt', '/usr/local/opt']) for (const v of byVersion(await list(root), 'postgresql')) out.push(`${root}/${v}/bin`);
  out.push('/usr/local/pgsql/bin');
  return out;
}

async function installIn(dir: string): Promise<PostgresInstall | undefined> {
  const initdb = await executable(join(dir, 'initdb'));
  const postgres = await executable(join(dir, 'postgres'));
  if (!initdb || !postgres) return undefined;
  // Symlinks (as in /usr/local/bin) lead to the real bin folder, where pg_config lives too.
  const real = await realpath(postgres).catch(() => postgres);
  return { binDir: dirname(real), initdb, postgres };
}

/** The host's PostgreSQL: in `override` only when given, else on PATH, else in the usual folders. */
export async function findPostgres(override: string | undefined): Promise<PostgresInstall | undefined> {
  if (override !== undefined) return installIn(override);
  const path = (process.env.PATH ?? '').split(':').filter((d) => d !== '');
  for (const dir of [...path, ...(await versionedBinDirs())]) {
    const found = await installIn(dir);
    if (found) return found;
  }
  return undefined;
}

/** The longest unix socket path Linux and macOS accept (sun_path less its terminator). */
const MAX_SOCKET_PATH = 103;

export const postgresTraits: EngineTraits = {
  /** SIGINT is PostgreSQL's fast shutdown (`pg_ctl stop -m fast`): clients are disconnected, data is flushed. */
  stopSignal: 'SIGINT',
  credentials: postgresCredentials,
  owns: (commandLine, place) => commandLine.includes('postgres') && commandLine.includes(place.dataDir),
};

export class PostgresEngine implements Engine {
  readonly name = 'postgres';
  readonly kind = 'postgres';
  readonly traits = postgresTraits;
  readonly unprivilegedUsers = ['slipway', 'postgres', 'nobody'];
  private version: Promise<string | undefined> | undefined;

  constructor(private readonly install: PostgresInstall) {}

  private installedVersion(): Promise<string | undefined> {
    this.version ??= promisify(execFile)(this.install.postgres, ['--version'])
      .then(({ stdout }) => /(\d+(?:\.\d+)?)/.exec(stdout)?.[1])
      .catch(() => undefined);
    return this.version;
  }

  /** Whether PostGIS is installed for this PostgreSQL (its control file is in the share folder). */
  private async postgisAvailable(): Promise<boolean> {
    const candidates: string[] = [];
    const pgConfig = await executable(join(this.install.binDir, 'pg_config'));
    if (pgConfig) {
      const share = await promisify(execFile)(pgConfig, ['--sharedir']).then(({ stdout }) => stdout.trim(), () => undefined);
      if (share) candidates.push(share);
    }
    const major = (await this.installedVersion())?.split('.')[0];
    if (major) candidates.push(`/usr/share/postgresql/${major}`);
    candidates.push(join(this.install.binDir, '../share/postgresql'), join(this.install.binDir, '../share'));
    for (const share of candidates) {
      if (await access(join(share, 'extension', 'postgis.control')).then(() => true, () => false)) return true;
    }
    return false;
  }

  async notes(resource: Resource): Promise<readonly string[]> {
    const notes = [...versionNote(resource, await this.installedVersion(), 'PostgreSQL')];
    if (resource.type === 'postgis' && !(await this.postgisAvailable())) {
      notes.push('PostGIS is not installed for this PostgreSQL, so database app has no postgis extension (install postgresql-<version>-postgis-3, or brew install postgis, then CREATE EXTENSION postgis)');
    }
    return notes;
  }

  async init(ctx: EngineContext): Promise<void> {
    const env = serverEnv(ctx.dir);
    // initdb reads the password from a file the server's user can read; it is gone right after.
    const pwfile = join(ctx.dir, 'initdb.pw');
    await writePrivateFile(pwfile, `${ctx.password}\n`, ctx.runAs);
    try {
      await runStep(ctx, 'initdb', this.install.initdb, ['-D', ctx.dataDir, '--username=app', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'], { env });
    } finally {
      await rm(pwfile, { force: true });
    }
    // Single-user mode creates the database without a server, a socket or a client program;
    // it exits 0 even when a statement fails, so an ERROR line is the failure.
    const single = (database: string, sql: string, what: string) => runStep(ctx, what, this.install.postgres, ['--single', '-D', ctx.dataDir, database], { env, input: `${sql}\n`, failOn: /\bERROR:/ });
    await single('postgres', 'CREATE DATABASE app;', 'creating database app');
    // Convox's postgis image has the extension in its database already; do the same when PostGIS is installed.
    if (ctx.resource.type === 'postgis' && (await this.postgisAvailable())) await single('app', 'CREATE EXTENSION IF NOT EXISTS postgis;', 'creating extension postgis');
  }

  async server(ctx: EngineContext): Promise<ServerCommand> {
    const runDir = join(ctx.dir, 'run');
    await makeServerDir(runDir, ctx.runAs);
    // A socket path too long for the system would stop the server from starting; the rack
    // connects over TCP anyway, so then there is no socket.
    const sockets = join(runDir, `.s.PGSQL.${ctx.port}`).length <= MAX_SOCKET_PATH ? runDir : '';
    return {
      command: this.install.postgres,
      args: ['-D', ctx.dataDir, '-p', String(ctx.port), '-c', `listen_addresses=${LOOPBACK}`, '-c', `unix_socket_directories=${sockets}`],
      env: serverEnv(ctx.dir),
    };
  }

  probe(ctx: EngineContext): Promise<Probe> {
    return probePostgres({ host: LOOPBACK, port: ctx.port, user: 'app', database: 'app', password: ctx.password });
  }
}
