// Notifications: the first service extracted from the monolith. `POST /notify` takes an event
// (an order placed, say) and keeps the most recent ones in redis (QUEUE_URL), where
// `GET /notifications` reads them back.
const { randomUUID } = require('node:crypto');
const Redis = require('ioredis');
const { HttpError, requireEnv, withTimeout, sendJson, readJson, serve } = require('./http');

const env = requireEnv('notifications', ['QUEUE_URL']);
const RECENT = 'notifications:recent';
const KEEP = 50;

// Commands fail at once while redis is away, rather than wait in a queue.
const redis = new Redis(env.QUEUE_URL, { enableOfflineQueue: false, connectTimeout: 5000, retryStrategy: (times) => Math.min(200 * times, 5000) });
redis.on('error', (err) => console.error(`queue: ${err.message || err.code}`));

async function notify(req, res) {
  const { type, message, orderId = null } = await readJson(req);
  if (typeof type !== 'string' || !/^[a-z][a-z0-9_.-]{0,63}$/.test(type)) throw new HttpError(400, 'type must be an event name such as order.placed');
  if (typeof message !== 'string' || message.length === 0 || message.length > 500) throw new HttpError(400, 'message must be 1 to 500 characters');
  const notification = { id: randomUUID(), type, message, orderId, at: new Date().toISOString() };
  await withTimeout(redis.multi().lpush(RECENT, JSON.stringify(notification)).ltrim(RECENT, 0, KEEP - 1).exec(), 2000, 'queue');
  console.log(`notification ${type}: ${message}`);
  sendJson(res, 202, { notification });
}

async function recent(_req, res) {
  const items = await withTimeout(redis.lrange(RECENT, 0, KEEP - 1), 2000, 'queue');
  sendJson(res, 200, { notifications: items.map((item) => JSON.parse(item)) });
}

serve({
  name: 'notifications',
  routes: [
    ['POST', /^\/notify$/, notify],
    ['GET', /^\/notifications$/, recent],
  ],
  health: { queue: () => redis.ping() },
  stop: async () => {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  },
});
