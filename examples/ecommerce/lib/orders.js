// The monolith's own data: the `orders` table in the app's postgres database (DATABASE_URL).
// The web service and the cleanup timer both use it.
const { Pool } = require('pg');

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS orders (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    items jsonb NOT NULL,
    total_cents integer NOT NULL,
    currency text NOT NULL,
    charge_id text NOT NULL,
    card_token_encrypted text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX IF NOT EXISTS orders_created_at ON orders (created_at)`;

function createPool(connectionString) {
  // Few connections: several processes share the database, and a local rack's may be small.
  const pool = new Pool({ connectionString, max: 4, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => console.error(`database: idle connection failed: ${err.message}`));
  return pool;
}

/** Create the table once, even when several web processes start together. */
async function migrate(pool) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('ecommerce.orders'))");
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function toOrder(row) {
  return {
    id: row.id,
    email: row.email,
    items: row.items,
    totalCents: row.total_cents,
    currency: row.currency,
    chargeId: row.charge_id,
    status: row.status,
    createdAt: row.created_at,
  };
}

async function insertOrder(pool, order) {
  const { rows } = await pool.query(
    `INSERT INTO orders (id, email, items, total_cents, currency, charge_id, card_token_encrypted, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [order.id, order.email, JSON.stringify(order.items), order.totalCents, order.currency, order.chargeId, order.cardTokenEncrypted, order.status],
  );
  return toOrder(rows[0]);
}

async function findOrder(pool, id) {
  const { rows } = await pool.query('SELECT * FROM orders WHERE id = $1', [id]);
  return rows.length > 0 ? toOrder(rows[0]) : null;
}

/** Delete the orders older than `days` days; returns how many. */
async function deleteOrdersOlderThan(db, days) {
  const { rowCount } = await db.query("DELETE FROM orders WHERE created_at < now() - $1::float8 * interval '1 day'", [days]);
  return rowCount;
}

module.exports = { createPool, migrate, insertOrder, findOrder, deleteOrdersOlderThan };
