/** Loopback ports for the local rack's processes, servers and listeners. */
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { SlipwayError } from '../errors';

export const LOOPBACK = '127.0.0.1';

/** Bind the port on loopback for a moment; the port bound (the system's choice for 0), or undefined when taken. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** A port free on loopback now: `preferred` when it is free (a port remembered from an earlier run), else the system's choice. */
export async function freePort(preferred?: number): Promise<number> {
  if (preferred && (await tryListen(preferred)) === preferred) return preferred;
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await tryListen(0);
    if (port !== undefined) return port;
  }
  throw new SlipwayError('no free loopback port', 'NO_FREE_PORT');
}

/** Join two connections both ways; when either fails or ends badly, both close. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b).pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
}
