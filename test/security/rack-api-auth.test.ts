/**
 * The local rack's API refuses every request without its token. The rack and its API server run
 * in this process on a temp state folder (as test/cli/local-rack-connection.test.ts starts them),
 * with one app whose env holds a planted secret. Every route the server defines, taken from its
 * own route table so that a new route is covered without editing this test, is sent requests
 * with no token, a wrong one, the right one altered (case, whitespace, cut, lengthened, another
 * scheme) and the right one where the server must not look (query string, cookie, another
 * header): each answers 401 with the same fixed body, and the rack's state folder is byte for
 * byte the same afterwards. The token file is private, and the API listens on loopback only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_FILE, RackApiServer, TOKEN_FILE } from '../../lib/local/rack/api-server';
import type { RackEndpoint } from '../../lib/local/rack/api-server';
import { LocalRack, resourceBase } from '../../lib/local/rack/local-rack';
import { accepts, externalAddresses, listeningAddresses } from '../support/listeners';
import { SecretScan } from '../support/planted-secrets';

const scan = new SecretScan();
const SECRET = scan.plant('env value behind the api');

let stateDir: string;
let rack: LocalRack;
let api: RackApiServer;
let endpoint: RackEndpoint;
let token: string;
let stops = 0;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A request with exactly these headers (fetch would add or refuse some). */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  const url = new URL(endpoint.api);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A path the route's pattern matches: its first part is the app, the others a name. */
function samplePath(pattern: RegExp): string {
  let n = 0;
  const path = pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\(\[\^\/\]\+\)/g, () => (n++ === 0 ? 'shop' : 'x1'))
    .replace(/\\\//g, '/');
  if (!pattern.test(path)) throw new Error(`cannot make a path for route ${pattern.source}`);
  return path;
}

/** Every file of the rack's folders and a hash of its content. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (root: string, dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(root, path);
      else if (entry.isFile()) out[`${root === stateDir ? 'state' : 'resources'}/${relative(root, path)}`] = createHash('sha256').update(await readFile(path)).digest('hex');
    }
  };
  await walk(stateDir, stateDir);
  if (resourceBase(stateDir) !== stateDir) await walk(resourceBase(stateDir), resourceBase(stateDir));
  return out;
}

const swapCase = (text: string): string => [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');

/** Ways to get the token wrong, or to put the right one where the server must not look. */
function attempts(): { name: string; headers: Record<string, string>; query?: string }[] {
  return [
    { name: 'no token', headers: {} },
    { name: 'a wrong token', headers: { authorization: `Bearer ${randomBytes(32).toString('base64url')}` } },
    { name: 'the token in swapped case', headers: { authorization: `Bearer ${swapCase(token)}` } },
    { name: 'the token less its last character', headers: { authorization: `Bearer ${token.slice(0, -1)}` } },
    { name: 'the token and one more character', headers: { authorization: `Bearer ${token}A` } },
    { name: 'two spaces after Bearer', headers: { authorization: `Bearer  ${token}` } },
    { name: 'a tab after Bearer', headers: { authorization: `Bearer\t${token}` } },
    { name: 'a space inside the token', headers: { authorization: `Bearer ${token.slice(0, 10)} ${token.slice(10)}` } },
    { name: 'the token without its scheme', headers: { authorization: token } },
    { name: 'the token as Basic credentials', headers: { authorization: `Basic ${Buffer.from(`local:${token}`).toString('base64')}` } },
    { name: 'an empty Bearer', headers: { authorization: 'Bearer ' } },
    { name: 'the token in the query (token)', headers: {}, query: `token=${token}` },
    { name: 'the token in the query (access_token)', headers: {}, query: `access_token=${token}` },
    { name: 'the header in the query (authorization)', headers: {}, query: `authorization=${encodeURIComponent(`Bearer ${token}`)}` },
    { name: 'the token in a cookie', headers: { cookie: `token=${token}; rack.token=${token}` } },
    { name: 'the token in another header', headers: { 'x-slipway-token': token, 'x-api-key': token, 'proxy-authorization': `Bearer ${token}` } },
  ];
}

/** A body that would change something on any route that read it. */
const INTRUDING_BODY = Buffer.from(JSON.stringify({ name: 'intruder', set: { INJECTED: 'x' }, unset: ['PLANTED'], replace: true, service: 'web', command: 'touch /tmp/slipway-intruded', count: 0, release: 'RAAAAAAAAAA' }));

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-api-auth-'));
  rack = await LocalRack.start({ stateDir, waitMs: 200 });
  await rack.createApp('shop');
  await rack.changeEnvironment('shop', { set: { PLANTED: SECRET } });
  api = new RackApiServer(rack, () => void stops++);
  endpoint = await api.start();
  token = readFileSync(join(stateDir, TOKEN_FILE), 'utf8').trim();
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await rack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the local rack API without its token (a real rack and API server in this process)', () => {
  it('derives every route from the server\u2019s own table', () => {
    const routes = api.routeTable.map((r) => `${r.method} ${samplePath(r.pattern)}`);
    // The table is the server's: these are only the ones that must never be missing from it.
    expect(routes).toEqual(expect.arrayContaining(['POST /v1/rack/stop', 'DELETE /v1/apps/shop', 'PATCH /v1/apps/shop/env', 'GET /v1/apps/shop/env', 'POST /v1/apps/shop/bundles', 'POST /v1/apps/shop/run']));
    expect(routes.length).toBeGreaterThanOrEqual(25);
  });

  it('answers 401 with a fixed body, and changes nothing, on every route for every wrong or misplaced token', async () => {
    const before = await snapshot();
    const routes = [...api.routeTable.map((r) => ({ method: r.method, path: samplePath(r.pattern) })), { method: 'GET', path: '/v1/no-such-route' }, { method: 'OPTIONS', path: '/v1/apps' }, { method: 'PUT', path: '/v1/apps/shop' }];
    const wrong: string[] = [];
    let sent = 0;
    for (const route of routes) {
      for (const attempt of attempts()) {
        const path = attempt.query ? `${route.path}?${attempt.query}` : route.path;
        const body = route.method === 'GET' || route.method === 'DELETE' || route.method === 'OPTIONS' ? undefined : INTRUDING_BODY;
        const answer = await send(route.method, path, { ...attempt.headers, ...(body ? { 'content-type': 'application/json' } : {}) }, body);
        sent++;
        const problems = [
          answer.status !== 401 && `status ${answer.status}`,
          answer.body !== JSON.stringify({ error: 'missing or wrong rack token', code: 'UNAUTHORIZED' }) && `body ${answer.body.slice(0, 200)}`,
          answer.headers['access-control-allow-origin'] !== undefined && 'a CORS header',
          (answer.body.includes(token) || answer.body.includes(SECRET)) && 'a secret in the body',
        ].filter(Boolean);
        if (problems.length > 0) wrong.push(`${route.method} ${route.path} with ${attempt.name}: ${problems.join(', ')}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(sent).toBeGreaterThan(25 * 15);
    // No side effect: not a byte of the rack's state changed, it did not stop, and it still answers its token.
    expect(await snapshot()).toEqual(before);
    expect(stops).toBe(0);
    expect(await rack.store.listApps()).toEqual([expect.objectContaining({ name: 'shop' })]);
    expect((await rack.environment('shop')).values).toEqual({ PLANTED: SECRET });
    expect((await send('GET', '/v1/rack', { authorization: `Bearer ${token}` })).status).toBe(200);
  }, 120_000);

  it('serves the same routes to the token (so the refusals above are the token\u2019s doing), and a change shows in the state', async () => {
    const authorized = { authorization: `Bearer ${token}` };
    for (const route of api.routeTable.filter((r) => r.method === 'GET')) {
      const answer = await send('GET', samplePath(route.pattern), authorized);
      expect(answer.status, `GET ${samplePath(route.pattern)}: ${answer.body}`).not.toBe(401);
    }
    const env = await send('GET', '/v1/apps/shop/env', authorized);
    expect(JSON.parse(env.body)).toMatchObject({ values: { PLANTED: SECRET } });
    const before = await snapshot();
    const change = await send('PATCH', '/v1/apps/shop/env', { ...authorized, 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ set: { OTHER: '1' } })));
    expect(change.status, change.body).toBe(200);
    expect(change.body).not.toContain(SECRET);
    expect(await snapshot()).not.toEqual(before);
  });

  it('keeps its token in a file only its owner can read, and listens on loopback only', async () => {
    expect(statSync(join(stateDir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, ENDPOINT_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o077).toBe(0);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const port = Number(new URL(endpoint.api).port);
    expect(new URL(endpoint.api).hostname).toBe('127.0.0.1');
    expect(listeningAddresses(port)).toEqual(['127.0.0.1']);
    for (const address of externalAddresses()) expect(await accepts(address, port), `the API answers on ${address}`).toBe(false);
    expect(await accepts('127.0.0.1', port)).toBe(true);
  });
});
