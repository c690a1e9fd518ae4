// Email: sends the confirmation e-mails the monolith queues. A worker pops jobs off the redis list
// `email:outbox` (QUEUE_URL) with BRPOP and "sends" each one: it logs the recipient and subject,
// never the body, and counts it. `GET /sent` reads the count.
const { setTimeout: sleep } = require('node:timers/promises');
const Redis = require('ioredis');
const { requireEnv, withTimeout, sendJson, serve } = require('./http');

const env = requireEnv('email', ['QUEUE_URL']);
const OUTBOX = 'email:outbox';
const SENT = 'email:sent';
const FROM = process.env.MAIL_FROM || 'shop@example.com';

// Commands fail at once while redis is away, rather than wait in a queue.
function connect(role) {
  const client = new Redis(env.QUEUE_URL, { enableOfflineQueue: false, connectTimeout: 5000, retryStrategy: (times) => Math.min(200 * times, 5000) });
  client.on('error', (err) => console.error(`queue (${role}): ${err.message || err.code}`));
  return client;
}

async function disconnect(client) {
  if (client.status === 'ready') await client.quit();
  else client.disconnect();
}

// A blocked BRPOP holds its connection, so the worker has one of its own.
const redis = connect('commands');
const worker = connect('worker');

async function send(job) {
  let mail;
  try {
    mail = JSON.parse(job);
  } catch {
    console.error('dropping a job that is not JSON');
    return;
  }
  if (typeof mail.to !== 'string' || typeof mail.subject !== 'string') {
    console.error('dropping a job without a recipient or subject');
    return;
  }
  // A real sender would hand the message to an SMTP server or a mail API here.
  console.log(`sent "${mail.subject}" to ${mail.to} from ${FROM}`);
  await redis.incr(SENT);
}

/** Pop and send until the service stops; BRPOP waits at most 2 s, so a stop is noticed quickly. */
async function work(service) {
  while (!service.isStopping()) {
    try {
      if (worker.status !== 'ready') {
        await sleep(500);
        continue;
      }
      const popped = await worker.brpop(OUTBOX, 2);
      if (popped) await send(popped[1]);
    } catch (err) {
      console.error(`worker: ${err.message}`);
      await sleep(1000);
    }
  }
}

const service = serve({
  name: 'email',
  routes: [['GET', /^\/sent$/, async (_req, res) => sendJson(res, 200, { sent: Number((await withTimeout(redis.get(SENT), 2000, 'queue')) ?? 0) })]],
  health: {
    queue: () => redis.ping(),
    worker: async () => {
      if (worker.status !== 'ready') throw new Error('worker not connected');
    },
  },
  stop: async () => {
    // With the queue up, the loop ends within BRPOP's 2-second timeout. With it down, BRPOP waits
    // for a reconnection that may never come: closing the connection ends it.
    if (worker.status !== 'ready') worker.disconnect();
    await working;
    await Promise.all([disconnect(worker), disconnect(redis)]);
  },
});
const working = work(service);
