/**
 * memcached resources on the host's `memcached`: TCP on 127.0.0.1 only, no UDP. memcached
 * keeps nothing on disk (a cache, as in Convox) and has no password in a stock build, so the
 * connection is `memcached://127.0.0.1:<port>` with empty USER, PASS and NAME, as Convox's.
 */
import type { Resource } from '../../manifest';
import { type Engine, type EngineContext, type EngineTraits, type Probe, type ServerCommand, versionNote } from './engine';
import { LOOPBACK, executable, findExecutable, probeSocket, serverEnv } from './processes';

export const MEMCACHED_INSTALL = 'apt-get install memcached, brew install memcached';

export async function findMemcached(override: string | undefined): Promise<string | undefined> {
  if (override !== undefined) return executable(override);
  return findExecutable(['memcached'], ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin', '/usr/sbin']);
}

export const memcachedTraits: EngineTraits = {
  stopSignal: 'SIGTERM',
  credentials: (port) => ({ URL: `memcached://${LOOPBACK}:${port}`, USER: '', PASS: '', HOST: LOOPBACK, PORT: String(port), NAME: '' }),
  owns: (commandLine, place) => commandLine.includes('memcached') && commandLine.includes(`-p ${place.port}`) && commandLine.includes(LOOPBACK),
};

export class MemcachedEngine implements Engine {
  readonly name = 'memcached';
  readonly kind = 'memcached';
  readonly traits = memcachedTraits;
  /** memcached refuses root unless told a user; running it as one is simpler. */
  readonly unprivilegedUsers = ['slipway', 'memcache', 'memcached', 'nobody'];

  constructor(private readonly program: string) {}

  notes(resource: Resource): Promise<readonly string[]> {
    return Promise.resolve(versionNote(resource, undefined, 'memcached'));
  }

  init(): Promise<void> {
    return Promise.resolve(); // Nothing on disk.
  }

  server(ctx: EngineContext): Promise<ServerCommand> {
    const memory = Number.parseInt(ctx.resource.options.mem ?? '', 10);
    const args = ['-l', LOOPBACK, '-p', String(ctx.port), '-U', '0', ...(Number.isFinite(memory) && memory > 0 ? ['-m', String(memory)] : [])];
    return Promise.resolve({ command: this.program, args, env: serverEnv(ctx.dir) });
  }

  probe(ctx: EngineContext): Promise<Probe> {
    return probeSocket(
      ctx.port,
      (received) => {
        const reply = received.toString('utf8');
        if (!reply.includes('\r\n')) return undefined;
        return reply.startsWith('VERSION ') ? { ok: true } : { ok: false, reason: `version answered ${reply.trim()}` };
      },
      'version\r\n',
    );
  }
}
