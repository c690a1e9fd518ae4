// The HTTP plumbing every service of this example shares: JSON in and out, one log line per
// request, GET /health from the service's own checks, and a graceful stop on SIGTERM. Each build
// context is built on its own, so each carries a copy of this file; keep the copies identical.
const http = require('node:http');
const { Buffer } = require('node:buffer');
const { setTimeout, clearTimeout } = require('node:timers');
const { URL } = require('node:url');

class HttpError extends Error {
  constructor(status, message, details = {}) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/** The values of the named environment variables; exits with a clear message when one is unset. */
function requireEnv(service, names) {
  const missing = names.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    console.error(`${service}: refusing to start: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);
    process.exit(1);
  }
  return Object.fromEntries(names.map((name) => [name, process.env[name]]));
}

/** Rejects when `promise` has not settled within `ms`. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/**
 * Serve `routes` ([method, /regex/, handler(req, res, match)]) on PORT. `health` is
 * `{ name: async () => {} }`, one check per resource; /health answers 200 when every check
 * resolves within two seconds, 503 otherwise. On SIGTERM (or SIGINT) the server stops accepting, finishes the
 * requests in flight, runs `stop()` (close pools and clients), and exits 0.
 */
function serve({ name, routes, health = {}, stop = async () => {} }) {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) {
    console.error(`${name}: refusing to start: PORT is not set (the rack gives every process its own)`);
    process.exit(1);
  }
  let stopping = false;

  async function checkHealth(res) {
    if (stopping) return sendJson(res, 503, { status: 'stopping' });
    const results = await Promise.all(
      Object.entries(health).map(([check, run]) =>
        withTimeout(Promise.resolve().then(run), 2000, check).then(
          () => [check, 'ok'],
          (err) => [check, err.message],
        ),
      ),
    );
    const ok = results.every(([, result]) => result === 'ok');
    sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(results) });
  }

  async function handle(req, res) {
    const path = new URL(req.url, 'http://localhost').pathname;
    if (path === '/health' && req.method === 'GET') return checkHealth(res);
    for (const [method, pattern, handler] of routes) {
      const match = pattern.exec(path);
      if (match && method === req.method) return handler(req, res, match);
    }
    throw new HttpError(routes.some(([, pattern]) => pattern.test(path)) ? 405 : 404, `no route for ${req.method} ${path}`);
  }

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms`);
    });
    handle(req, res).catch((err) => {
      if (!(err instanceof HttpError)) console.error(`${req.method} ${req.url} failed: ${err.stack || err}`);
      if (res.headersSent) return res.destroy();
      const status = err instanceof HttpError ? err.status : 500;
      sendJson(res, status, { error: err instanceof HttpError ? err.message : 'internal error', ...(err.details || {}) });
    });
  });

  function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    console.log(`${name}: ${signal} received, finishing requests in flight`);
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    force.unref();
    server.close(async () => {
      try {
        await stop();
        console.log(`${name}: stopped`);
        process.exit(0);
      } catch (err) {
        console.error(`${name}: error while stopping: ${err.message}`);
        process.exit(1);
      }
    });
    server.closeIdleConnections();
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  server.listen(port, () => console.log(`${name} listening on ${port}`));
  return { isStopping: () => stopping };
}

module.exports = { HttpError, requireEnv, withTimeout, sendJson, readJson, serve };
