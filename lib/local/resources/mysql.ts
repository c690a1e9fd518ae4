/**
 * mysql and mariadb resources on the host's `mysqld` or `mariadbd`. The data folder is made
 * with `mysqld --initialize-insecure` (MySQL) or `mariadb-install-db` (MariaDB); each start
 * passes an init file that gives root its password (for localhost and 127.0.0.1, as the
 * server resolves no names) and creates database `app`, idempotently, and the file is deleted
 * once the server is up. The server listens on 127.0.0.1 only, with its socket in the resource
 * folder; `--no-defaults` keeps the host's my.cnf out of it.
 *
 * Readiness: with a `mysql`/`mariadb` client installed, a `SELECT 1` as root in database app;
 * without one, the server's greeting on its port (it sends it only after the init file ran).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Resource } from '../../manifest';
import { type Engine, type EngineContext, type EngineTraits, type Probe, type ServerCommand, makeServerDir, runStep, versionNote, writePrivateFile } from './engine';
import { LOOPBACK, executable, findExecutable, probeSocket, redactor, serverEnv } from './processes';

export type MysqlFlavor = 'mysql' | 'mariadb';

export const MYSQL_INSTALL: Readonly<Record<MysqlFlavor, string>> = {
  mysql: 'apt-get install default-mysql-server (or mysql-server), brew install mysql',
  mariadb: 'apt-get install mariadb-server, brew install mariadb',
};

export interface MysqlInstall {
  readonly server: string;
  readonly flavor: MysqlFlavor;
  readonly version: string | undefined;
  /** MariaDB's mariadb-install-db (MySQL initialises with mysqld itself). */
  readonly installer: string | undefined;
  /** The command-line client, for the readiness check. */
  readonly client: string | undefined;
}

const SERVER_DIRS = ['/usr/sbin', '/usr/libexec', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin', '/usr/local/mysql/bin', '/opt/homebrew/opt/mysql/bin', '/opt/homebrew/opt/mariadb/bin'];

async function describe(server: string): Promise<MysqlInstall | undefined> {
  let stdout: string;
  try {
    stdout = (await promisify(execFile)(server, ['--no-defaults', '--version'])).stdout;
  } catch {
    return undefined;
  }
  const flavor: MysqlFlavor = /mariadb/i.test(stdout) ? 'mariadb' : 'mysql';
  return {
    server,
    flavor,
    version: /Ver\s+(\d+\.\d+\.\d+)/.exec(stdout)?.[1],
    installer: flavor === 'mariadb' ? await companion(server, ['mariadb-install-db', 'mysql_install_db']) : undefined,
    client: await companion(server, ['mariadb', 'mysql']),
  };
}

/** The MySQL-family servers installed (Debian's mysqld may be MariaDB's under another name). */
export async function findMysqlServers(override: string | undefined): Promise<MysqlInstall[]> {
  const paths = override !== undefined ? [await executable(override)] : [await findExecutable(['mysqld'], SERVER_DIRS), await findExecutable(['mariadbd'], SERVER_DIRS)];
  const seen = new Set<string>();
  const out: MysqlInstall[] = [];
  for (const path of paths) {
    if (path === undefined) continue;
    const real = await realpath(path).catch(() => path);
    if (seen.has(real)) continue;
    seen.add(real);
    const found = await describe(path);
    if (found) out.push(found);
  }
  return out;
}

/** A program next to the server, in the usual bin folders, or on PATH. */
function companion(server: string, names: readonly string[]): Promise<string | undefined> {
  return findExecutable(names, [dirname(server), join(dirname(server), '../bin'), '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']);
}

const sqlString = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** The longest unix socket path Linux and macOS accept. */
const MAX_SOCKET_PATH = 103;

export const mysqlTraits: EngineTraits = {
  /** SIGTERM is mysqld's normal shutdown. */
  stopSignal: 'SIGTERM',
  credentials: (port, password) => ({ URL: `mysql://root:${password}@${LOOPBACK}:${port}/app`, USER: 'root', PASS: password, HOST: LOOPBACK, PORT: String(port), NAME: 'app' }),
  owns: (commandLine, place) => commandLine.includes(`--datadir=${place.dataDir}`),
};

export class MysqlEngine implements Engine {
  readonly kind = 'mysql';
  readonly traits = mysqlTraits;
  readonly unprivilegedUsers = ['slipway', 'mysql', 'nobody'];

  constructor(private readonly install: MysqlInstall) {}

  get name(): MysqlFlavor {
    return this.install.flavor;
  }

  notes(resource: Resource): Promise<readonly string[]> {
    const notes = [...versionNote(resource, this.install.version, this.install.flavor === 'mariadb' ? 'MariaDB' : 'MySQL')];
    const wanted: MysqlFlavor = resource.type.includes('mariadb') ? 'mariadb' : 'mysql';
    if (wanted !== this.install.flavor) notes.push(`${resource.type} asked for; the local rack runs the installed ${this.install.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'}, which speaks the same protocol`);
    return Promise.resolve(notes);
  }

  async init(ctx: EngineContext): Promise<void> {
    const env = serverEnv(ctx.dir);
    if (this.install.flavor === 'mysql') {
      await runStep(ctx, 'mysqld --initialize-insecure', this.install.server, ['--no-defaults', '--initialize-insecure', `--datadir=${ctx.dataDir}`], { env });
      return;
    }
    const installer = this.install.installer ?? 'mariadb-install-db';
    await runStep(ctx, 'mariadb-install-db', installer, ['--no-defaults', `--datadir=${ctx.dataDir}`, '--auth-root-authentication-method=normal', `--basedir=${join(dirname(this.install.server), '..')}`], { env });
  }

  private files(ctx: EngineContext) {
    const runDir = join(ctx.dir, 'run');
    const inRun = join(runDir, 'mysqld.sock');
    // A socket path too long for the system would stop the server; then it goes to the temp folder.
    const socket = inRun.length <= MAX_SOCKET_PATH ? inRun : join(tmpdir(), `slipway-mysql-${createHash('sha256').update(ctx.dir).digest('hex').slice(0, 12)}.sock`);
    return { runDir, socket, initFile: join(ctx.dir, 'init.sql'), clientConf: join(ctx.dir, 'client.cnf') };
  }

  async server(ctx: EngineContext): Promise<ServerCommand> {
    const { runDir, socket, initFile, clientConf } = this.files(ctx);
    await makeServerDir(runDir, ctx.runAs);
    const pw = sqlString(ctx.password);
    // One statement a line: the server reads the init file line by line.
    const sql = [
      `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ${pw};`,
      `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ${pw};`,
      `ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw};`,
      "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;",
      'CREATE DATABASE IF NOT EXISTS app;',
    ];
    await writePrivateFile(initFile, `${sql.join('\n')}\n`, ctx.runAs);
    // The readiness check's client reads the password from a file, not its command line.
    await writePrivateFile(clientConf, `[client]\npassword="${ctx.password.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"\n`, undefined);
    return {
      command: this.install.server,
      args: [
        '--no-defaults',
        `--datadir=${ctx.dataDir}`,
        `--port=${ctx.port}`,
        `--bind-address=${LOOPBACK}`,
        `--socket=${socket}`,
        `--pid-file=${join(runDir, 'mysqld.pid')}`,
        `--init-file=${initFile}`,
        '--skip-name-resolve',
        // MySQL 8's X protocol would listen on 33060 for every server; one port per resource only.
        ...(this.install.flavor === 'mysql' ? ['--loose-mysqlx=OFF'] : []),
      ],
      env: serverEnv(ctx.dir),
    };
  }

  async probe(ctx: EngineContext): Promise<Probe> {
    const client = this.install.client;
    if (!client) return greeting(ctx.port);
    const { clientConf } = this.files(ctx);
    try {
      await promisify(execFile)(client, [`--defaults-file=${clientConf}`, '--protocol=TCP', `--host=${LOOPBACK}`, `--port=${ctx.port}`, '--user=root', '--connect-timeout=5', '--execute=SELECT 1', 'app'], { timeout: 10_000 });
      return { ok: true };
    } catch (error) {
      const output = (error as { stderr?: unknown }).stderr;
      const stderr = (typeof output === 'string' ? output : '').trim().split('\n')[0] ?? '';
      return { ok: false, reason: redactor([ctx.password])(stderr) || 'the client failed' };
    }
  }

  async afterReady(ctx: EngineContext): Promise<void> {
    const { initFile, clientConf } = this.files(ctx);
    await rm(initFile, { force: true });
    await rm(clientConf, { force: true });
  }
}

/** The server's greeting (protocol 10) on its port: it accepts connections. */
function greeting(port: number): Promise<Probe> {
  // A packet: 3-byte length, sequence id, then the payload; 0x0a is a greeting, 0xff an error.
  return probeSocket(port, (data) => (data.length < 5 ? undefined : data[4] === 0x0a ? { ok: true } : { ok: false, reason: 'the server refused the connection' }));
}
