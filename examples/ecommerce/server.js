// The monolith: the storefront and its JSON API. It still owns orders (the `orders` table in
// postgres) and hands the rest to the services extracted from it: stock to inventory, charges to
// payments, confirmation e-mails to email (through the redis queue), and events to notifications.
const { readFileSync } = require('node:fs');
const { randomUUID } = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const Redis = require('ioredis');
const { HttpError, requireEnv, withTimeout, sendJson, readJson, serve } = require('./lib/http');
const orders = require('./lib/orders');
const { call } = require('./lib/upstream');

const env = requireEnv('web', ['DATABASE_URL', 'QUEUE_URL', 'INVENTORY_URL', 'PAYMENTS_URL', 'NOTIFICATIONS_URL', 'EMAIL_SERVICE_URL']);
const EMAIL_QUEUE = 'email:outbox';
const storefront = readFileSync(require.resolve('./public/index.html'));

const pool = orders.createPool(env.DATABASE_URL);
// Commands fail at once while redis is away, rather than wait in a queue.
const redis = new Redis(env.QUEUE_URL, { enableOfflineQueue: false, connectTimeout: 5000, retryStrategy: (times) => Math.min(200 * times, 5000) });
redis.on('error', (err) => console.error(`queue: ${err.message || err.code}`));
let schemaReady = false;

const money = (cents) => `$${(cents / 100).toFixed(2)}`;

function parseOrder(body) {
  const email = typeof body.email === 'string' ? body.email.trim() : '';
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new HttpError(400, 'email must be an e-mail address');
  if (!Array.isArray(body.items) || body.items.length === 0 || body.items.length > 20) throw new HttpError(400, 'items must list 1 to 20 products');
  const items = body.items.map((item) => {
    const quantity = item?.quantity ?? 1;
    if (typeof item?.sku !== 'string' || !Number.isInteger(quantity) || quantity < 1 || quantity > 99) {
      throw new HttpError(400, 'each item needs a sku and a quantity from 1 to 99');
    }
    return { sku: item.sku, quantity };
  });
  const { cardToken } = body;
  if (typeof cardToken !== 'string' || cardToken.length === 0 || cardToken.length > 200) throw new HttpError(400, 'cardToken is required (try tok_visa)');
  return { email, items, cardToken };
}

async function queueConfirmation(order) {
  const lines = order.items.map((item) => `${item.quantity} x ${item.name}  ${money(item.priceCents * item.quantity)}`);
  const job = {
    orderId: order.id,
    to: order.email,
    subject: `Your order ${order.id.slice(0, 8)} is confirmed`,
    body: `Thank you for your order!\n\n${lines.join('\n')}\n\nTotal: ${money(order.totalCents)}\n`,
  };
  try {
    await withTimeout(redis.lpush(EMAIL_QUEUE, JSON.stringify(job)), 2000, 'queue');
    return true;
  } catch (err) {
    console.error(`order ${order.id}: confirmation e-mail not queued: ${err.message}`);
    return false;
  }
}

async function notify(order) {
  const message = `order ${order.id} placed: ${order.items.length} product(s), ${money(order.totalCents)}`;
  try {
    await call('notifications', env.NOTIFICATIONS_URL, '/notify', { method: 'POST', body: { type: 'order.placed', orderId: order.id, message }, timeoutMs: 2000 });
    return true;
  } catch (err) {
    console.error(`order ${order.id}: notification not sent: ${err.message}`);
    return false;
  }
}

/** Reserve the stock, charge the card, store the order; then confirm it by e-mail and notify. */
async function placeOrder(req, res) {
  const { email, items, cardToken } = parseOrder(await readJson(req));
  const id = randomUUID();
  const reservation = await call('inventory', env.INVENTORY_URL, '/reserve', { method: 'POST', body: { orderId: id, items } });
  let charge;
  let order;
  try {
    charge = await call('payments', env.PAYMENTS_URL, '/charges', {
      method: 'POST',
      body: { orderId: id, amountCents: reservation.totalCents, currency: 'usd', cardToken },
      timeoutMs: 10_000,
    });
    order = await orders.insertOrder(pool, {
      id, email, items: reservation.items, totalCents: reservation.totalCents, currency: charge.currency,
      chargeId: charge.id, cardTokenEncrypted: charge.cardTokenEncrypted, status: 'paid',
    });
  } catch (err) {
    if (charge) console.error(`order ${id}: charge ${charge.id} was taken but the order could not be stored: ${err.message}`);
    // The order did not go through: put the stock back.
    await call('inventory', env.INVENTORY_URL, '/release', { method: 'POST', body: { orderId: id, items: reservation.items } }).catch(
      (releaseErr) => console.error(`order ${id}: stock not released: ${releaseErr.message}`),
    );
    throw err;
  }
  const [emailQueued, notified] = await Promise.all([queueConfirmation(order), notify(order)]);
  sendJson(res, 201, { order, emailQueued, notified });
}

async function getOrder(_req, res, [, id]) {
  const order = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? await orders.findOrder(pool, id) : null;
  if (!order) throw new HttpError(404, `no order ${id}`);
  sendJson(res, 200, { order });
}

/** What the monolith sees of the services it calls, and how many e-mails went out. */
async function status(_req, res) {
  const probe = (name, url) => call(name, url, '/health', { timeoutMs: 2000 }).then(() => 'ok', (err) => err.message);
  const [inventory, payments, email, notifications, sent, recent] = await Promise.all([
    probe('inventory', env.INVENTORY_URL),
    probe('payments', env.PAYMENTS_URL),
    probe('email', env.EMAIL_SERVICE_URL),
    probe('notifications', env.NOTIFICATIONS_URL),
    call('email', env.EMAIL_SERVICE_URL, '/sent', { timeoutMs: 2000 }).then((a) => a.sent, () => null),
    call('notifications', env.NOTIFICATIONS_URL, '/notifications', { timeoutMs: 2000 }).then((a) => a.notifications, () => null),
  ]);
  sendJson(res, 200, { services: { inventory, payments, email, notifications }, emailsSent: sent, recentNotifications: recent });
}

const service = serve({
  name: 'web',
  routes: [
    ['GET', /^\/$/, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(storefront);
    }],
    ['GET', /^\/api\/products$/, async (_req, res) => sendJson(res, 200, await call('inventory', env.INVENTORY_URL, '/products'))],
    ['POST', /^\/api\/orders$/, placeOrder],
    ['GET', /^\/api\/orders\/([^/]+)$/, getOrder],
    ['GET', /^\/api\/status$/, status],
  ],
  health: {
    database: async () => {
      if (!schemaReady) throw new Error('orders table not ready yet');
      await pool.query('SELECT 1');
    },
    queue: () => redis.ping(),
  },
  stop: async () => {
    await pool.end();
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  },
});

(async function prepareDatabase() {
  while (!service.isStopping()) {
    try {
      await orders.migrate(pool);
      schemaReady = true;
      console.log('database: orders table ready');
      return;
    } catch (err) {
      console.error(`database: not ready (${err.message || err.code}); retrying`);
      await sleep(2000);
    }
  }
})();
