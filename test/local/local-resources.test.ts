/**
 * The local rack's resources against real servers: PostgreSQL from the host's binaries (as an
 * unprivileged user when the tests run as root), PGlite when there are none, and redis-server.
 * MySQL/MariaDB and memcached are tested only where installed. Every server is stopped in
 * afterAll, and the test checks that none of their processes is left.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Resource } from '../../lib/manifest';
import { LocalResources, ResourceBinaryMissingError, ResourceHostError, ResourceNotFoundError, ResourceTypeChangedError, UnknownResourceTypeError, type LocalResourcesOptions, type ResourceOutputLine } from '../../lib/local/resources';
import { REPO_ROOT } from '../support/paths';

const root = mkdtempSync(join(tmpdir(), 'slipway-resources-'));
// As root, PostgreSQL and redis run as another user, who must pass through the state folder.
chmodSync(root, 0o711);

const output: ResourceOutputLine[] = [];
const racks: LocalResources[] = [];
/** Every server pid seen, to check none outlives the tests. */
const pids = new Set<number>();
/** Every password handed out, to check none is printed. */
const passwords = new Set<string>();
const errors: string[] = [];
/** Other temporary folders to delete at the end. */
const scratch: string[] = [];

function rack(options: Partial<LocalResourcesOptions> = {}): LocalResources {
  const r = new LocalResources({ stateDir: root, onOutput: (line) => output.push(line), ...options });
  racks.push(r);
  return r;
}

const resource = (name: string, type: string, options: Record<string, string> = {}): Resource => ({ name, type, options });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dirOf = (app: string, name: string) => join(root, 'resources', app, name);

function serverPid(app: string, name: string): number {
  const { pid } = JSON.parse(readFileSync(join(dirOf(app, name), 'server.pid'), 'utf8')) as { pid: number };
  pids.add(pid);
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Ask again until every resource is ready, as the pipeline does. */
async function untilReady(r: LocalResources, app: string, resources: readonly Resource[], env: Record<string, string> = {}): Promise<void> {
  for (;;) {
    const state = await r.ensure(app, resources, env);
    if (state.ready) return;
    await sleep(100);
  }
}

async function credentialsOf(r: LocalResources, app: string, name: string) {
  const credentials = await r.credentials(app, name);
  if (!credentials) throw new Error(`no credentials for ${app}/${name}`);
  if (credentials.PASS) passwords.add(credentials.PASS);
  return credentials;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Send redis commands (RESP) and return the raw reply once it has `lines` lines. */
function redis(port: number, commands: string[][], lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => socket.write(commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('')));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const parts = reply.split('\r\n');
      if (parts.length > lines) {
        socket.destroy();
        resolve(parts.slice(0, lines));
      }
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    errors.push((error as Error).message);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function which(program: string, dirs: string[]): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...dirs]) if (dir && existsSync(join(dir, program))) return join(dir, program);
  return undefined;
}

const asRoot = process.getuid?.() === 0;

afterAll(async () => {
  await Promise.all(racks.map((r) => r.stop()));
  const left = [...pids].filter(alive);
  expect(left, 'server processes left running').toEqual([]);
  // Secrets never reach output or error messages.
  expect(passwords.size).toBeGreaterThan(0);
  for (const password of passwords) {
    expect(output.filter((l) => l.text.includes(password))).toEqual([]);
    expect(errors.filter((e) => e.includes(password))).toEqual([]);
    for (const log of ['shop/db', 'shop/cache', 'lite/db', 'crash/queue']) {
      const file = join(root, 'resources', log, 'server.log');
      if (existsSync(file)) expect(readFileSync(file, 'utf8')).not.toContain(password);
    }
  }
  // Database folders are large; the servers are stopped, so they can go.
  for (const dir of [root, ...scratch]) rmSync(dir, { recursive: true, force: true });
});

describe('local resources on PostgreSQL and redis', () => {
  const shop = rack();
  const manifest = [resource('db', 'postgres'), resource('cache', 'redis')];

  it('start in the background, then report ready', async () => {
    const first = await shop.ensure('shop', manifest, {});
    expect(first.ready).toBe(false);
    expect([...first.waitingOn].sort()).toEqual(['cache', 'db']);
    await untilReady(shop, 'shop', manifest);
    // One server per data folder, however often ensure was asked while it started.
    const postmasters = execFileSync('pgrep', ['-f', '--', `-D ${join(dirOf('shop', 'db'), 'data')}`], { encoding: 'utf8' }).trim().split('\n');
    expect(postmasters).toHaveLength(1);
    expect(await shop.ensure('shop', manifest, {})).toEqual({ ready: true, waitingOn: [] });
  });

  it('give Convox-shaped credentials that connect', async () => {
    const db = await credentialsOf(shop, 'shop', 'db');
    expect(db.URL).toMatch(/^postgres:\/\/app:[0-9a-f]{32}@127\.0\.0\.1:\d+\/app\?sslmode=disable$/);
    expect(db).toEqual({ URL: db.URL, USER: 'app', PASS: db.PASS, HOST: '127.0.0.1', PORT: db.PORT, NAME: 'app' });
    expect(db.URL).toContain(`:${db.PASS}@127.0.0.1:${db.PORT}/`);
    const [who] = await query<{ user: string; db: string }>(db.URL, 'select current_user as user, current_database() as db');
    expect(who).toEqual({ user: 'app', db: 'app' });
    await query(db.URL, 'create table orders (id int primary key, item text)');
    await query(db.URL, 'insert into orders values (1, $1)', ['teapot']);
    await expect(query(db.URL.replace(db.PASS, 'wrong'), 'select 1')).rejects.toThrow(/password authentication failed/);

    const cache = await credentialsOf(shop, 'shop', 'cache');
    expect(cache).toEqual({ URL: `redis://:${cache.PASS}@127.0.0.1:${cache.PORT}`, USER: '', PASS: cache.PASS, HOST: '127.0.0.1', PORT: cache.PORT, NAME: '' });
    expect(
      await redis(
        Number(cache.PORT),
        [
          ['AUTH', cache.PASS],
          ['SET', 'greeting', 'hello'],
        ],
        2,
      ),
    ).toEqual(['+OK', '+OK']);
    expect(await redis(Number(cache.PORT), [['GET', 'greeting']], 1)).toEqual(['-NOAUTH Authentication required.']);

    // Passwords are private files of the resource.
    expect(statSync(join(dirOf('shop', 'db'), 'password')).mode & 0o777).toBe(0o600);
  });

  it('run the servers as an unprivileged user when the rack is root', () => {
    const pid = serverPid('shop', 'db');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    if (asRoot) {
      expect(uid).not.toBe(0);
      expect(statSync(join(dirOf('shop', 'db'), 'data')).uid).toBe(uid);
      expect(statSync(join(dirOf('shop', 'db'), 'data')).mode & 0o777).toBe(0o700);
    } else {
      expect(uid).toBe(process.getuid?.());
    }
    serverPid('shop', 'cache');
  });

  it('link a service to the variables Convox sets', async () => {
    const db = await credentialsOf(shop, 'shop', 'db');
    const cache = await credentialsOf(shop, 'shop', 'cache');
    expect(await shop.linkEnv('shop', ['db', 'cache:CACHE_URL', 'db:DATABASE_URL', 'cache:CACHE_PASS'], {})).toEqual({
      DB_URL: db.URL,
      DB_USER: 'app',
      DB_PASS: db.PASS,
      DB_HOST: '127.0.0.1',
      DB_PORT: db.PORT,
      DB_NAME: 'app',
      CACHE_URL: cache.URL,
      DATABASE_URL: db.URL,
      CACHE_PASS: cache.PASS,
    });
  });

  it('keep data and passwords across a stop and a start', async () => {
    const before = await credentialsOf(shop, 'shop', 'db');
    const cacheBefore = await credentialsOf(shop, 'shop', 'cache');
    const old = [serverPid('shop', 'db'), serverPid('shop', 'cache')];
    await shop.stop('shop');
    expect(old.filter(alive)).toEqual([]);
    expect(existsSync(join(dirOf('shop', 'db'), 'server.pid'))).toBe(false);

    await untilReady(shop, 'shop', manifest);
    const after = await credentialsOf(shop, 'shop', 'db');
    expect(after.PASS).toBe(before.PASS);
    expect(await query<{ item: string }>(after.URL, 'select item from orders where id = 1')).toEqual([{ item: 'teapot' }]);
    const cache = await credentialsOf(shop, 'shop', 'cache');
    expect(cache.PASS).toBe(cacheBefore.PASS);
    expect(
      await redis(
        Number(cache.PORT),
        [
          ['AUTH', cache.PASS],
          ['GET', 'greeting'],
        ],
        3,
      ),
    ).toEqual(['+OK', '$5', 'hello']);
    serverPid('shop', 'db');
    serverPid('shop', 'cache');
  });

  it('leave a server another running rack owns alone', async () => {
    const pid = serverPid('shop', 'cache');
    const other = rack();
    const error = await rejection(other.ensure('shop', [resource('cache', 'redis')], {}));
    expect(error).toBeInstanceOf(ResourceHostError);
    expect(error.message).toMatch(/belongs to another rack that still runs/);
    await other.stop();
    expect(alive(pid)).toBe(true);
  });

  it('refuse a type change rather than lose the data', async () => {
    const error = await rejection(shop.ensure('shop', [resource('db', 'postgres'), resource('cache', 'postgres')], {}));
    expect(error).toBeInstanceOf(ResourceTypeChangedError);
    expect(error.message).toMatch(/resource cache of app shop holds redis data but the manifest now says type postgres/);
    // A rack that did not start it reads the same from the resource's record.
    const other = rack();
    const again = await rejection(other.ensure('shop', [resource('cache', 'mysql')], {}));
    expect(again).toBeInstanceOf(ResourceTypeChangedError);
    // postgis is PostgreSQL's data too.
    await untilReady(shop, 'shop', [resource('db', 'postgis'), resource('cache', 'redis')]);
    serverPid('shop', 'cache');
  });

  it('refuse unknown types', async () => {
    const error = await rejection(shop.ensure('shop', [resource('search', 'elasticsearch')], {}));
    expect(error).toBeInstanceOf(UnknownResourceTypeError);
    expect(error.message).toMatch(/type elasticsearch, which the local rack cannot run/);
  });
});

describe('a rack that crashed', () => {
  it('leaves servers that the next rack stops before it starts its own on the same data', async () => {
    // A rack in its own process, killed with SIGKILL once its redis is ready: its server survives it.
    const script = join(root, 'crashing-rack.mts');
    writeFileSync(
      script,
      [
        `import { LocalResources } from ${JSON.stringify(join(REPO_ROOT, 'lib/local/resources'))};`,
        `const rack = new LocalResources({ stateDir: ${JSON.stringify(root)} });`,
        "const queue = [{ name: 'queue', type: 'redis', options: {} }];",
        'while (!(await rack.ensure("crash", queue, {})).ready) await new Promise((r) => setTimeout(r, 100));',
        'const c = await rack.credentials("crash", "queue");',
        'console.log(JSON.stringify(c));',
        'setInterval(() => undefined, 1000);',
      ].join('\n'),
    );
    const crashing = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<{ PASS: string; PORT: string }>((resolve, reject) => {
      crashing.stdout.setEncoding('utf8');
      crashing.stdout.once('data', (line: string) => resolve(JSON.parse(line) as { PASS: string; PORT: string }));
      crashing.once('exit', (code) => reject(new Error(`the crashing rack exited early (${code})`)));
    });
    passwords.add(first.PASS);
    const orphan = serverPid('crash', 'queue');
    expect(
      await redis(
        Number(first.PORT),
        [
          ['AUTH', first.PASS],
          ['SET', 'job', '42'],
        ],
        2,
      ),
    ).toEqual(['+OK', '+OK']);
    const gone = new Promise((resolve) => crashing.once('exit', resolve));
    crashing.kill('SIGKILL');
    await gone;
    expect(alive(orphan)).toBe(true);

    const next = rack();
    await untilReady(next, 'crash', [resource('queue', 'redis')]);
    expect(alive(orphan)).toBe(false);
    const fresh = serverPid('crash', 'queue');
    expect(fresh).not.toBe(orphan);
    const c = await credentialsOf(next, 'crash', 'queue');
    expect(c.PASS).toBe(first.PASS);
    expect(
      await redis(
        Number(c.PORT),
        [
          ['AUTH', c.PASS],
          ['GET', 'job'],
        ],
        3,
      ),
    ).toEqual(['+OK', '$2', '42']);
    expect(output.some((l) => l.app === 'crash' && /stopping the server a previous run of the rack left running/.test(l.text))).toBe(true);
    await next.stop();
    expect(alive(fresh)).toBe(false);
  });
});

describe('external resources', () => {
  it('are not started when the app env sets <NAME>_URL, and link that URL', async () => {
    const r = rack();
    const env = { MAIN_DB_URL: 'postgres://u:p@db.example.com:5432/prod' };
    expect(await r.ensure('ext', [resource('main-db', 'postgres')], env)).toEqual({ ready: true, waitingOn: [] });
    expect(existsSync(dirOf('ext', 'main-db'))).toBe(false);
    expect(await r.linkEnv('ext', ['main-db', 'main-db:DATABASE_URL'], env)).toEqual({
      MAIN_DB_URL: env.MAIN_DB_URL,
      MAIN_DB_USER: '',
      MAIN_DB_PASS: '',
      MAIN_DB_HOST: '',
      MAIN_DB_PORT: '',
      MAIN_DB_NAME: '',
      DATABASE_URL: env.MAIN_DB_URL,
    });
    await expect(r.linkEnv('ext', ['cache'], env)).rejects.toBeInstanceOf(ResourceNotFoundError);
  });
});

describe('PGlite when the host has no PostgreSQL', () => {
  const lite = rack({ binaries: { postgres: join(root, 'no-postgres-here') } });

  it('serves a postgres resource that pg connects to', async () => {
    await untilReady(lite, 'lite', [resource('db', 'postgres')]);
    const db = await credentialsOf(lite, 'lite', 'db');
    expect(db.URL).toMatch(/^postgres:\/\/app:[0-9a-f]{32}@127\.0\.0\.1:\d+\/app\?sslmode=disable$/);
    await query(db.URL, 'create table notes (body text)');
    await query(db.URL, 'insert into notes values ($1)', ['hello']);
    expect(await query(db.URL, 'select body, current_user as user, current_database() as db from notes')).toEqual([{ body: 'hello', user: 'app', db: 'app' }]);
    expect(output.some((l) => l.app === 'lite' && /PGlite serves this resource: it accepts any password/.test(l.text))).toBe(true);
    serverPid('lite', 'db');
  });

  it('stops and is removed with its data', async () => {
    const pid = serverPid('lite', 'db');
    await lite.remove('lite', 'db');
    expect(alive(pid)).toBe(false);
    expect(existsSync(dirOf('lite', 'db'))).toBe(false);
    expect(await lite.credentials('lite', 'db')).toBeUndefined();
  });
});

describe('a state folder the server user cannot reach', () => {
  it.skipIf(!asRoot)('is reported with the folder to open', async () => {
    const closed = mkdtempSync(join(tmpdir(), 'slipway-closed-'));
    scratch.push(closed);
    const r = rack({ stateDir: closed });
    let error: Error | undefined;
    while (!error) {
      try {
        await r.ensure('shut', [resource('cache', 'redis')], {});
        await sleep(50);
      } catch (e) {
        error = e as Error;
        errors.push(error.message);
      }
    }
    expect(error).toBeInstanceOf(ResourceHostError);
    expect(error.message).toContain(`cannot enter ${closed}: let others pass through it (chmod o+x ${closed})`);
  });
});

describe('a missing server program', () => {
  it('says what to install', async () => {
    const r = rack({ binaries: { redis: join(root, 'nowhere', 'redis-server') } });
    const error = await rejection(r.ensure('jobs', [resource('queue', 'redis')], {}));
    expect(error).toBeInstanceOf(ResourceBinaryMissingError);
    expect(error.message).toMatch(/^redis resource queue needs redis-server \(looked for it at .*\): install it \(apt-get install redis-server, brew install redis\)$/);
    expect(existsSync(dirOf('jobs', 'queue'))).toBe(false);
  });
});

// SLIPWAY_TEST_MEMCACHED and SLIPWAY_TEST_MYSQLD point at programs that are not on PATH (an unpacked package, say).
const memcached = process.env.SLIPWAY_TEST_MEMCACHED ?? which('memcached', ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']);
const mysqld = process.env.SLIPWAY_TEST_MYSQLD ?? which('mysqld', ['/usr/sbin', '/usr/local/bin']) ?? which('mariadbd', ['/usr/sbin', '/usr/local/bin']);
if (!memcached) console.warn('local-resources: memcached is not installed; its test is skipped (apt-get install memcached)');
if (!mysqld) console.warn('local-resources: neither mysqld nor mariadbd is installed; the mysql test is skipped (apt-get install mariadb-server)');

/** The MySQL/MariaDB command-line client next to the server, if any. */
function mysqlClient(server: string): string | undefined {
  return which('mariadb', [join(server, '../../bin')]) ?? which('mysql', [join(server, '../../bin')]);
}

describe('engines installed only on some machines', () => {
  it.skipIf(!memcached)('memcached answers on its port', async () => {
    const r = rack({ binaries: { memcached } });
    await untilReady(r, 'cached', [resource('sessions', 'memcached')]);
    const c = await credentialsOf(r, 'cached', 'sessions');
    expect(c).toEqual({ URL: `memcached://127.0.0.1:${c.PORT}`, USER: '', PASS: '', HOST: '127.0.0.1', PORT: c.PORT, NAME: '' });
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(c.PORT) });
      socket.setEncoding('utf8');
      socket.on('error', reject);
      socket.on('connect', () => socket.write('set k 0 0 2\r\nhi\r\nget k\r\n'));
      let text = '';
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('END\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
    });
    expect(reply).toBe('STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n');
    serverPid('cached', 'sessions');
    await r.stop();
  });

  it.skipIf(!mysqld)('mysql starts with root, its password and database app', async () => {
    const server = mysqld ?? '';
    const r = rack({ binaries: { mysql: server } });
    await untilReady(r, 'sql', [resource('db', 'mysql')]);
    const c = await credentialsOf(r, 'sql', 'db');
    expect(c).toEqual({ URL: `mysql://root:${c.PASS}@127.0.0.1:${c.PORT}/app`, USER: 'root', PASS: c.PASS, HOST: '127.0.0.1', PORT: c.PORT, NAME: 'app' });
    serverPid('sql', 'db');
    // The files that held the password for the first start are gone once it is up.
    expect(existsSync(join(dirOf('sql', 'db'), 'init.sql'))).toBe(false);
    const client = mysqlClient(server);
    if (client) {
      const run = (password: string) => {
        const conf = join(root, 'client.cnf');
        writeFileSync(conf, `[client]\npassword=${password}\n`, { mode: 0o600 });
        return execFileSync(client, [`--defaults-file=${conf}`, '--protocol=TCP', '-h127.0.0.1', `-P${c.PORT}`, '-uroot', '--batch', '--skip-column-names', '-e', 'SELECT DATABASE()', 'app'], { encoding: 'utf8', stdio: 'pipe' });
      };
      expect(run(c.PASS).trim()).toBe('app');
      expect(() => run('wrong')).toThrow(/Access denied/);
    } else {
      console.warn('local-resources: no mysql client next to the server; the mysql test checks readiness only');
    }
    await r.stop();
  });
});
