// Calls from the monolith to the services extracted from it, over the rack's internal network
// (http://<service>.ecommerce.convox.local:<port>, from the environment).
const { HttpError } = require('./http');

const { fetch, AbortSignal } = globalThis;

/**
 * Call `service` at `baseUrl + path` and return its JSON answer. A 4xx answer is passed on to
 * our caller (out of stock, card declined); no answer or a 5xx one becomes a 502.
 */
async function call(service, baseUrl, path, { method = 'GET', body, timeoutMs = 5000 } = {}) {
  let res;
  try {
    res = await fetch(baseUrl.replace(/\/+$/, '') + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new HttpError(502, `${service} is unavailable`, { cause: err.cause?.code || err.name });
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status >= 400 && res.status < 500) throw new HttpError(res.status, answer.error || `${service} refused the request`, answer);
  if (!res.ok) throw new HttpError(502, `${service} failed (${res.status})`);
  return answer;
}

module.exports = { call };
