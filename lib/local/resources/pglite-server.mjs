// The PGlite server of a local postgres resource, run as its own process (node pglite-server.mjs)
// so that the rack starts and stops it like any other database server.
//
//   node pglite-server.mjs init  <dataDir>          create the database files, role app and database app
//   node pglite-server.mjs serve <dataDir> <port>   serve database app on 127.0.0.1:<port> until SIGTERM/SIGINT
//
// PGlite has no password authentication: any password is accepted. Listening on 127.0.0.1
// only keeps it to this machine.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const [mode, dataDir, portText] = process.argv.slice(2);

async function init() {
  const db = await PGlite.create({ dataDir });
  // One statement per query: CREATE DATABASE cannot run inside the implicit transaction of a batch.
  await db.query('CREATE ROLE app SUPERUSER LOGIN');
  await db.query('CREATE DATABASE app OWNER app');
  await db.close();
}

async function serve() {
  const db = await PGlite.create({ dataDir, username: 'app', database: 'app' });
  // PGlite runs one query at a time; the server multiplexes connections, so apps with a pool work.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: Number(portText), maxConnections: 100 });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    await db.close();
    console.log('pglite: stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  server.addEventListener('error', (event) => console.error('pglite: server error:', event.detail?.message ?? event.detail));
  await server.start();
  console.log(`pglite: listening on 127.0.0.1:${portText}`);
}

if (!dataDir || (mode === 'serve' && !/^\d+$/.test(portText ?? '')) || (mode !== 'init' && mode !== 'serve')) {
  console.error('usage: pglite-server.mjs init <dataDir> | serve <dataDir> <port>');
  process.exit(2);
}
(mode === 'init' ? init() : serve()).catch((error) => {
  console.error(`pglite: ${error?.message ?? error}`);
  process.exit(1);
});
