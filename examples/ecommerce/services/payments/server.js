// Payments: charges cards through a fake processor, and seals each card token with AES-256-GCM
// under PAYMENT_ENCRYPTION_KEY, so the token is only ever stored encrypted. It needs STRIPE_KEY
// (the processor's key: here it signs the charge ids) and the encryption key, and logs neither.
const { createCipheriv, createDecipheriv, createHmac, randomBytes } = require('node:crypto');
const { Buffer } = require('node:buffer');
const { HttpError, requireEnv, sendJson, readJson, serve } = require('./http');

const env = requireEnv('payments', ['STRIPE_KEY', 'PAYMENT_ENCRYPTION_KEY']);
if (!/^[0-9a-fA-F]{64}$/.test(env.PAYMENT_ENCRYPTION_KEY)) {
  console.error('payments: refusing to start: PAYMENT_ENCRYPTION_KEY must be 64 hex characters (a 32-byte key, e.g. from `openssl rand -hex 32`)');
  process.exit(1);
}
const key = Buffer.from(env.PAYMENT_ENCRYPTION_KEY, 'hex');

/** `v1.<iv>.<tag>.<ciphertext>`, base64url; the order id is authenticated with it. */
function seal(plaintext, orderId) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(orderId));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'))].join('.');
}

function open(sealed, orderId) {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== 'v1') throw new Error(`unknown sealed token version ${version}`);
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(orderId));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

/** The fake processor: Stripe's test tokens, where tok_chargeDeclined is declined. */
function processCharge({ orderId, amountCents, cardToken }) {
  if (!/^tok_[A-Za-z0-9_]+$/.test(cardToken)) throw new HttpError(400, 'cardToken must be a card token such as tok_visa');
  if (cardToken === 'tok_chargeDeclined') throw new HttpError(402, 'card declined', { decline: 'generic_decline' });
  // The same order always gets the same charge id, so a retried charge is not taken twice.
  const id = `ch_${createHmac('sha256', env.STRIPE_KEY).update(orderId).digest('hex').slice(0, 24)}`;
  return { id, status: 'succeeded', amountCents };
}

async function charge(req, res) {
  const { orderId, amountCents, currency = 'usd', cardToken } = await readJson(req);
  if (typeof orderId !== 'string' || orderId.length === 0 || orderId.length > 100) throw new HttpError(400, 'orderId is required');
  if (!Number.isInteger(amountCents) || amountCents <= 0) throw new HttpError(400, 'amountCents must be a positive integer');
  if (!/^[a-z]{3}$/.test(currency)) throw new HttpError(400, 'currency must be a three-letter code');
  if (typeof cardToken !== 'string') throw new HttpError(400, 'cardToken is required');
  const result = processCharge({ orderId, amountCents, cardToken });
  sendJson(res, 201, { ...result, currency, cardTokenEncrypted: seal(cardToken, orderId) });
}

serve({
  name: 'payments',
  routes: [['POST', /^\/charges$/, charge]],
  health: {
    // No resources to ask: check that the key seals and opens a token.
    encryption: async () => {
      if (open(seal('tok_health', 'health'), 'health') !== 'tok_health') throw new Error('encryption round trip failed');
    },
  },
});
