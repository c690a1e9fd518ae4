// Calls from the monolith to the services extracted from it, over the rack's internal network
// (http://<service>.ecommerce.convox.local:<port>, from the environment).
const http = require('node:http');
const { Buffer } = require('node:buffer');
const { HttpError } = require('./http');

/**
 * One request on a connection of its own (no keep-alive): a service's processes sit behind a
 * balancer, so each call may go to another one, and a process that stops leaves no stale
 * connection behind.
 */
function request(url, { method, body, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs}ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Call `service` at `baseUrl + path` and return its JSON answer. A 4xx answer is passed on to
 * our caller (out of stock, card declined); no answer or a 5xx one becomes a 502.
 */
async function call(service, baseUrl, path, { method = 'GET', body, timeoutMs = 5000 } = {}) {
  let res;
  try {
    res = await request(baseUrl.replace(/\/+$/, '') + path, { method, body, timeoutMs });
  } catch (err) {
    throw new HttpError(502, `${service} is unavailable`, { cause: err.code || err.message });
  }
  let answer = {};
  try {
    answer = JSON.parse(res.text);
  } catch {
    // Not JSON: keep the status alone.
  }
  if (res.status >= 400 && res.status < 500) throw new HttpError(res.status, answer.error || `${service} refused the request`, answer);
  if (res.status >= 300) throw new HttpError(502, `${service} failed (${res.status})`);
  return answer;
}

module.exports = { call };
