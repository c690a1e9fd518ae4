// The `cleanup` timer (runs on the web service's image and environment): deletes the orders older
// than ORDER_RETENTION_DAYS (30 by default) and says how many it deleted.
const orders = require('../lib/orders');

async function main() {
  const days = Number(process.env.ORDER_RETENTION_DAYS ?? 30);
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
  if (!Number.isFinite(days) || days < 0) throw new Error(`ORDER_RETENTION_DAYS must be a number of days, not ${process.env.ORDER_RETENTION_DAYS}`);
  const pool = orders.createPool(process.env.DATABASE_URL);
  try {
    const deleted = await orders.deleteOrdersOlderThan(pool, days);
    console.log(`cleanup: deleted ${deleted} order(s) older than ${days} day(s)`);
  } catch (err) {
    // 42P01: no orders table yet, as when the timer runs before web's first start.
    if (err.code !== '42P01') throw err;
    console.log('cleanup: no orders table yet; nothing to delete');
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  console.error(`cleanup failed: ${err.message}`);
  process.exit(1);
});
