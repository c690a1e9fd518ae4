/** Loopback ports for the local rack's processes and listeners. */
import { createServer } from 'node:net';

/** A port free on 127.0.0.1 now (the OS picks it); `preferred` first when it is free. */
export function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(undefined));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolve(chosen));
      });
    });
  return (async () => {
    if (preferred) {
      const got = await tryPort(preferred);
      if (got) return got;
    }
    const got = await tryPort(0);
    if (!got) throw new Error('no free loopback port');
    return got;
  })();
}
