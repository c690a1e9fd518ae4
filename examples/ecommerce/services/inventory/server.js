// Inventory: the products and their stock, in the app's postgres database (DATABASE_URL).
// It creates its table and seeds a few products at start; `POST /reserve` takes stock for an
// order all at once or not at all, and `POST /release` puts it back when the order fails.
const { setTimeout: sleep } = require('node:timers/promises');
const { Pool } = require('pg');
const { HttpError, requireEnv, sendJson, readJson, serve } = require('./http');

const env = requireEnv('inventory', ['DATABASE_URL']);

const SEED = [
  { sku: 'mug', name: 'Slipway mug', priceCents: 1200, stock: 100 },
  { sku: 'tee', name: 'Slipway T-shirt', priceCents: 2400, stock: 50 },
  { sku: 'stickers', name: 'Sticker pack', priceCents: 400, stock: 500 },
  { sku: 'hoodie', name: 'Slipway hoodie', priceCents: 5200, stock: 10 },
];

const pool = new Pool({ connectionString: env.DATABASE_URL, max: 4, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 });
pool.on('error', (err) => console.error(`database: idle connection failed: ${err.message}`));
let ready = false;

/** Run `work(client)` in a transaction on one connection. */
async function transaction(work) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Create the table and add the products it lacks; stock already there is left as it is. */
async function migrate() {
  await transaction(async (db) => {
    // Both inventory processes start together: one creates, the other waits.
    await db.query("SELECT pg_advisory_xact_lock(hashtext('ecommerce.products'))");
    await db.query(`CREATE TABLE IF NOT EXISTS products (
      sku text PRIMARY KEY,
      name text NOT NULL,
      price_cents integer NOT NULL CHECK (price_cents >= 0),
      stock integer NOT NULL CHECK (stock >= 0)
    )`);
    for (const p of SEED) {
      await db.query('INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO NOTHING', [p.sku, p.name, p.priceCents, p.stock]);
    }
  });
}

const toProduct = (row) => ({ sku: row.sku, name: row.name, priceCents: row.price_cents, stock: row.stock });

/** The order's items, one line per product (quantities of a repeated sku added up). */
function parseItems(body) {
  if (!Array.isArray(body.items) || body.items.length === 0) throw new HttpError(400, 'items must list at least one product');
  const quantities = new Map();
  for (const item of body.items) {
    if (typeof item?.sku !== 'string' || !Number.isInteger(item.quantity) || item.quantity < 1) {
      throw new HttpError(400, 'each item needs a sku and a positive integer quantity');
    }
    quantities.set(item.sku, (quantities.get(item.sku) ?? 0) + item.quantity);
  }
  // A fixed order keeps two concurrent reservations from locking rows in opposite orders.
  return [...quantities].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sku, quantity]) => ({ sku, quantity }));
}

async function listProducts(_req, res) {
  const { rows } = await pool.query('SELECT sku, name, price_cents, stock FROM products ORDER BY price_cents, sku');
  sendJson(res, 200, { products: rows.map(toProduct) });
}

async function reserve(req, res) {
  const items = parseItems(await readJson(req));
  const lines = await transaction(async (db) => {
    const taken = [];
    for (const { sku, quantity } of items) {
      const { rows } = await db.query(
        'UPDATE products SET stock = stock - $2 WHERE sku = $1 AND stock >= $2 RETURNING sku, name, price_cents',
        [sku, quantity],
      );
      if (rows.length === 0) {
        const found = await db.query('SELECT stock FROM products WHERE sku = $1', [sku]);
        if (found.rows.length === 0) throw new HttpError(404, `no product ${sku}`, { sku });
        throw new HttpError(409, `not enough ${sku} in stock`, { sku, available: found.rows[0].stock });
      }
      taken.push({ sku, name: rows[0].name, quantity, priceCents: rows[0].price_cents });
    }
    return taken;
  });
  const totalCents = lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
  sendJson(res, 200, { items: lines, totalCents });
}

async function release(req, res) {
  const items = parseItems(await readJson(req));
  await transaction(async (db) => {
    for (const { sku, quantity } of items) await db.query('UPDATE products SET stock = stock + $2 WHERE sku = $1', [sku, quantity]);
  });
  sendJson(res, 200, { released: items });
}

const service = serve({
  name: 'inventory',
  routes: [
    ['GET', /^\/products$/, listProducts],
    ['POST', /^\/reserve$/, reserve],
    ['POST', /^\/release$/, release],
  ],
  health: {
    database: async () => {
      if (!ready) throw new Error('products table not ready yet');
      await pool.query('SELECT 1');
    },
  },
  stop: () => pool.end(),
});

(async function prepareDatabase() {
  while (!service.isStopping()) {
    try {
      await migrate();
      ready = true;
      console.log(`database: products table ready (${SEED.length} products seeded if missing)`);
      return;
    } catch (err) {
      console.error(`database: not ready (${err.message || err.code}); retrying`);
      await sleep(2000);
    }
  }
})();
