/**
 * redis resources on the host's `redis-server`, configured by a file in the resource folder:
 * 127.0.0.1 only, data in the data folder with both RDB snapshots and an append-only file (so
 * keys survive a restart), and a password.
 *
 * Convox's redis has no password: in a cluster only the app's pods reach it. On one machine
 * every local user reaches 127.0.0.1, so the local rack sets one, and the URL carries it as
 * `redis://:<password>@127.0.0.1:<port>` (PASS has it too), which every redis client reads.
 * An app that builds its connection from REDIS_HOST and REDIS_PORT alone must add REDIS_PASS.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Resource } from '../../manifest';
import { type Engine, type EngineContext, type EngineTraits, type Probe, type ServerCommand, versionNote, writePrivateFile } from './engine';
import { LOOPBACK, executable, findExecutable, serverEnv } from './processes';

export const REDIS_INSTALL = 'apt-get install redis-server, brew install redis';

export async function findRedis(override: string | undefined): Promise<string | undefined> {
  if (override !== undefined) return executable(override);
  return findExecutable(['redis-server'], ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin', '/usr/sbin']);
}

/** A value in redis.conf: quoted, with the escapes its parser knows. */
const confValue = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/** Send RESP commands and read one reply line per command; never throws. */
export function redisExchange(port: number, commands: readonly (readonly string[])[], timeoutMs = 5_000): Promise<{ replies: string[] } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    let settled = false;
    let buffer = '';
    const done = (result: { replies: string[] } | { error: string }) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ error: 'no answer' }));
    socket.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code === 'ECONNREFUSED' ? 'not listening yet' : (error.code ?? error.message) }));
    socket.on('close', () => done({ error: 'the server closed the connection' }));
    socket.on('connect', () => {
      socket.write(commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join(''));
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\r\n');
      // Simple replies (+OK, -ERR, +PONG) are one line each; that is all the probe sends for.
      if (lines.length > commands.length) done({ replies: lines.slice(0, commands.length) });
    });
  });
}

export const redisTraits: EngineTraits = {
  /** SIGTERM makes redis save its data and exit. */
  stopSignal: 'SIGTERM',
  credentials: (port, password) => ({ URL: `redis://:${password}@${LOOPBACK}:${port}`, USER: '', PASS: password, HOST: LOOPBACK, PORT: String(port), NAME: '' }),
  // redis rewrites its process title to "redis-server 127.0.0.1:<port>".
  owns: (commandLine, place) => commandLine.includes('redis-server') && (commandLine.includes(place.dir) || commandLine.includes(`${LOOPBACK}:${place.port}`)),
};

export class RedisEngine implements Engine {
  readonly name = 'redis';
  readonly kind = 'redis';
  readonly traits = redisTraits;
  readonly unprivilegedUsers = ['slipway', 'redis', 'nobody'];
  private version: Promise<string | undefined> | undefined;

  constructor(private readonly program: string) {}

  async notes(resource: Resource): Promise<readonly string[]> {
    this.version ??= promisify(execFile)(this.program, ['--version']).then(
      ({ stdout }) => /v=(\d+\.\d+\.\d+)/.exec(stdout)?.[1],
      () => undefined,
    );
    return versionNote(resource, await this.version, 'redis');
  }

  init(): Promise<void> {
    return Promise.resolve(); // redis makes its files on first save.
  }

  async server(ctx: EngineContext): Promise<ServerCommand> {
    // The password is in a file the server reads, not on its command line where `ps` shows it.
    const conf = join(ctx.dir, 'redis.conf');
    const lines = [
      `bind ${LOOPBACK}`,
      `port ${ctx.port}`,
      'protected-mode yes',
      'daemonize no',
      'logfile ""',
      `dir ${confValue(ctx.dataDir)}`,
      'appendonly yes',
      'appendfsync everysec',
      'save 3600 1 300 100 60 10000',
      `requirepass ${confValue(ctx.password)}`,
    ];
    await writePrivateFile(conf, `${lines.join('\n')}\n`, ctx.runAs);
    return { command: this.program, args: [conf], env: serverEnv(ctx.dir) };
  }

  async probe(ctx: EngineContext): Promise<Probe> {
    const result = await redisExchange(ctx.port, [
      ['AUTH', ctx.password],
      ['PING'],
    ]);
    if ('error' in result) return { ok: false, reason: result.error };
    const [auth, ping] = result.replies;
    if (auth !== '+OK') return { ok: false, reason: `AUTH answered ${auth?.split(' ')[0] ?? 'nothing'}` };
    // -LOADING while redis reads its data back; PONG once it serves.
    return ping === '+PONG' ? { ok: true } : { ok: false, reason: ping?.startsWith('-LOADING') ? 'loading its data' : `PING answered ${ping ?? 'nothing'}` };
  }
}
