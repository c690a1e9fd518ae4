/**
 * postgres resources where the host has no PostgreSQL: PGlite (PostgreSQL compiled to
 * WebAssembly) behind its socket server, in a Node process of its own (pglite-server.mjs).
 *
 * What differs from a real PostgreSQL, and the notes tell the user: PGlite does not check
 * passwords (the URL carries one so that it has Convox's shape, but any is accepted), it runs
 * one query at a time, and it has no PostGIS. It listens on 127.0.0.1 only.
 */
import { fileURLToPath } from 'node:url';
import type { Resource } from '../../manifest';
import { type Engine, type EngineContext, type EngineTraits, type Probe, type ServerCommand, postgresCredentials, runStep, versionNote } from './engine';
import { probePostgres } from './postgres-wire';
import { LOOPBACK, serverEnv } from './processes';

const SCRIPT = fileURLToPath(new URL('./pglite-server.mjs', import.meta.url));

export const pgliteTraits: EngineTraits = {
  /** The script closes the database cleanly on SIGTERM. */
  stopSignal: 'SIGTERM',
  credentials: postgresCredentials,
  owns: (commandLine, place) => commandLine.includes('pglite-server') && commandLine.includes(place.dataDir),
};

export class PGliteEngine implements Engine {
  readonly name = 'pglite';
  readonly kind = 'postgres';
  readonly traits = pgliteTraits;
  /** PGlite does not refuse root, and its process must read the rack's node_modules. */
  readonly unprivilegedUsers = undefined;

  notes(resource: Resource): Promise<readonly string[]> {
    const notes = [
      'no PostgreSQL found on this machine (initdb, postgres), so PGlite serves this resource: it accepts any password, runs one query at a time, and lacks some extensions; install PostgreSQL (apt-get install postgresql, brew install postgresql) for new resources to use it',
      ...versionNote(resource, undefined, 'PGlite'),
    ];
    if (resource.type === 'postgis') notes.push('PGlite has no PostGIS here: database app has no postgis extension');
    return Promise.resolve(notes);
  }

  async init(ctx: EngineContext): Promise<void> {
    await runStep(ctx, 'creating the PGlite database', process.execPath, [SCRIPT, 'init', ctx.dataDir], { env: serverEnv(ctx.dir) });
  }

  server(ctx: EngineContext): Promise<ServerCommand> {
    return Promise.resolve({ command: process.execPath, args: [SCRIPT, 'serve', ctx.dataDir, String(ctx.port)], env: serverEnv(ctx.dir) });
  }

  probe(ctx: EngineContext): Promise<Probe> {
    return probePostgres({ host: LOOPBACK, port: ctx.port, user: 'app', database: 'app', password: ctx.password });
  }
}
