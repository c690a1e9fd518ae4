/**
 * Internal services are not reachable through the local rack's router. A real rack in this process
 * deploys one app with a public service (`web`, with a domain), an `internal: true` one (`api`,
 * with a domain of its own) and an `internalRouter: true` one (`admin`). Each service answers with
 * its name and counts the requests it gets. Then, over raw sockets to the router, every way of
 * naming an internal service is tried: its `<svc>.<app>.localhost` name in other cases, with a
 * trailing dot or a port, its Convox name, its domain, IP literals, a missing or doubled Host,
 * absolute-form request targets, CONNECT, an upgrade, path tricks and forwarding headers. Each is
 * refused (400/404) or, where only the public service is named (path and forwarding-header tricks),
 * served by the public service; none reaches an internal one, whose counters stay at zero. The internal services' proxy ports
 * and the router listen on loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRack } from '../../lib/local/rack/local-rack';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import { accepts, externalAddresses, listeningAddresses } from '../support/listeners';
import { getVia } from '../support/router-get';

const MANIFEST = `services:
  web:
    build: .
    port: 3000
    domain: shop.example.test
    health:
      path: /health
      grace: 0
      interval: 1
  api:
    build: .
    port: 4000
    internal: true
    domain: api.example.test
    command: node server.js api
    health:
      path: /health
      grace: 0
      interval: 1
  admin:
    build: .
    port: 5000
    internalRouter: true
    command: node server.js admin
    health:
      path: /health
      grace: 0
      interval: 1
`;

/** Answers `<service> saw <host> <url>`; `/__hits` tells how many other requests it got. */
const SERVER = `
const http = require('node:http');
const name = process.argv[2] || 'web';
let hits = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  if (req.url === '/__hits') return res.end(String(hits));
  hits++;
  res.end(name + ' saw ' + req.headers.host + ' ' + req.url);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let stateDir: string;
let rack: LocalRack;

/** Send bytes as they are to the router and read the answer until it closes the connection. */
function raw(text: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: rack.router.port });
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (c: string) => (data += c));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body: rest.join('\r\n\r\n') });
    });
    socket.write(text);
  });
}

const req = (target: string, headers: readonly string[]): string => `GET ${target} HTTP/1.1\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n`;

/** How many requests an internal service got other than health checks, asked at its own proxy port. */
function hitsOf(service: string): Promise<number> {
  const port = rack.runtime.internalPort('shop', service);
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/__hits' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve(Number(body)));
    })
      .on('error', reject)
      .end();
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-router-internal-'));
  rack = await LocalRack.start({ stateDir, deploy: { bakeSeconds: 0, progressDeadlineSeconds: 30 }, waitMs: 100 });
  await rack.createApp('shop');
  const bundle = tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n' },
    { name: 'server.js', body: SERVER },
  ]);
  const { execution } = await rack.deploy('shop', bundle);
  const outcome = await rack.outcome('Deploy', execution);
  if (outcome?.status !== 'SUCCEEDED') throw new Error(`the deploy failed: ${JSON.stringify(outcome)}`);
}, 120_000);

afterAll(async () => {
  await rack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the local router and internal services (a real rack, build and processes in this process)', () => {
  it('serves the public service by its name and its domain, and the internal ones at their proxy ports to other services', async () => {
    expect(await getVia(rack.router.port, 'web.shop.localhost', '/x')).toEqual({ status: 200, body: 'web saw web.shop.localhost /x' });
    expect(await getVia(rack.router.port, 'shop.example.test', '/')).toEqual({ status: 200, body: 'web saw shop.example.test /' });
    expect(rack.urls('shop').map((u) => [u.service, u.internal, u.url === ''])).toEqual([
      ['web', false, false],
      ['api', true, true],
      ['admin', true, true],
    ]);
    expect(await hitsOf('api')).toBe(0);
    expect(await hitsOf('admin')).toBe(0);
  });

  it('refuses every Host that names an internal service, however it is spelled', async () => {
    const port = rack.router.port;
    const hosts = ['api', 'admin'].flatMap((s) => [
      `${s}.shop.localhost`,
      `${s.toUpperCase()}.SHOP.LOCALHOST`,
      `${s}.Shop.Localhost`,
      `${s}.shop.localhost.`,
      `${s}.shop.localhost:${port}`,
      `${s}.shop.localhost.:${port}`,
      `${s}.shop.localhost:80`,
      `${s}.shop.localhost:`,
      `${s}.shop.convox.local`,
      `${s}.shop.convox.local:${s === 'api' ? 4000 : 5000}`,
      `${s}.shop`,
      s,
      `x${s}.shop.localhost`,
      `${s}.shop.localhost.example.test`,
      `web.shop.localhost@${s}.shop.localhost`,
      `${s}.shop.localhost%2e`,
      `${s}%2Eshop.localhost`,
    ]);
    hosts.push('api.example.test', 'API.EXAMPLE.TEST', 'api.example.test.', `api.example.test:${port}`, '127.0.0.1', `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost', `localhost:${port}`, '*.shop.localhost', 'shop.localhost', '.shop.localhost', '');
    const leaked: string[] = [];
    for (const host of hosts) {
      const answer = await raw(req('/', [`Host: ${host}`]));
      if (![400, 404].includes(answer.status) || /^(api|admin) saw/.test(answer.body)) leaked.push(`Host ${JSON.stringify(host)}: ${answer.status} ${answer.body.trim().slice(0, 120)}`);
    }
    expect(leaked).toEqual([]);
    expect(await hitsOf('api')).toBe(0);
    expect(await hitsOf('admin')).toBe(0);
  });

  it('does not route by the request target, forwarding headers, a second Host, CONNECT or an upgrade', async () => {
    const port = rack.router.port;
    const internalPort = rack.runtime.internalPort('shop', 'api') ?? 0;
    const refused: [string, string][] = [
      ['absolute-form to the internal name, Host internal', req(`http://api.shop.localhost:${port}/`, ['Host: api.shop.localhost'])],
      ['absolute-form to the Convox name, no Host', `GET http://api.shop.convox.local:4000/ HTTP/1.1\r\nConnection: close\r\n\r\n`],
      ['no Host at all (HTTP/1.1)', 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n'],
      ['no Host at all (HTTP/1.0)', 'GET / HTTP/1.0\r\n\r\n'],
      ['X-Forwarded-Host with an unrouted Host', req('/', ['Host: 127.0.0.1', 'X-Forwarded-Host: api.shop.localhost'])],
      ['Forwarded host= with an unrouted Host', req('/', ['Host: 127.0.0.1', 'Forwarded: host=api.shop.localhost'])],
      ['X-Original-Host and X-Host with an unrouted Host', req('/', ['Host: nothing.localhost', 'X-Original-Host: api.shop.localhost', 'X-Host: api.shop.localhost'])],
      ['CONNECT to the Convox name', `CONNECT api.shop.convox.local:4000 HTTP/1.1\r\nHost: api.shop.convox.local:4000\r\n\r\n`],
      ['CONNECT to the proxy port', `CONNECT 127.0.0.1:${internalPort} HTTP/1.1\r\nHost: 127.0.0.1:${internalPort}\r\n\r\n`],
      ['CONNECT with the public Host', `CONNECT 127.0.0.1:${internalPort} HTTP/1.1\r\nHost: web.shop.localhost\r\n\r\n`],
      ['a WebSocket upgrade to the internal name', req('/', ['Host: api.shop.localhost', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='])],
      ['a WebSocket upgrade to the internal domain', req('/', ['Host: api.example.test', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='])],
      ['two Host headers, the internal one first', req('/', ['Host: api.shop.localhost', 'Host: web.shop.localhost'])],
      ['two Host headers, the public one first', req('/', ['Host: web.shop.localhost', 'Host: api.shop.localhost'])],
      // The target's authority wins over Host (RFC 9112 3.2.2): a public Host does not carry it through.
      ['absolute-form to the Convox name, Host public', req('http://api.shop.convox.local:4000/', ['Host: web.shop.localhost'])],
      ['absolute-form to the internal name, Host public', req(`http://api.shop.localhost:${port}/`, ['Host: web.shop.localhost'])],
      ['absolute-form to the internal domain, Host public', req('http://api.example.test/', ['Host: web.shop.localhost'])],
      ['absolute-form upgrade to the internal name, Host public', req(`http://api.shop.localhost:${port}/`, ['Host: web.shop.localhost', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='])],
      ['absolute-form with another scheme', req('ftp://web.shop.localhost/', ['Host: web.shop.localhost'])],
    ];
    const leaked: string[] = [];
    for (const [name, text] of refused) {
      const answer = await raw(text);
      // 0: the connection was closed without an answer (Node does so for CONNECT with no handler).
      if (![0, 400, 404].includes(answer.status) || /(api|admin) saw|Connection established/i.test(answer.head + answer.body)) leaked.push(`${name}: ${answer.status} ${answer.head.split('\r\n')[0] ?? ''} ${answer.body.trim().slice(0, 120)}`);
    }
    // With the public service's Host, the router serves the public service whatever else the request says.
    const servedByWeb: [string, string][] = [
      ['X-Forwarded-Host internal, Host public', req('/', ['Host: web.shop.localhost', 'X-Forwarded-Host: api.shop.localhost'])],
      ['Forwarded host= internal, Host public', req('/', ['Host: web.shop.localhost', 'Forwarded: host=api.shop.localhost'])],
      ['path //internal', req('//api.shop.localhost/', ['Host: web.shop.localhost'])],
      ['path with ..', req('/../../api.shop.localhost/', ['Host: web.shop.localhost'])],
      ['path with %2e%2e and an encoded slash', req('/%2e%2e%2fapi.shop.convox.local:4000/', ['Host: web.shop.localhost'])],
      ['absolute-form to the public name, Host internal', req(`http://web.shop.localhost:${port}/y?z=1`, ['Host: api.shop.localhost'])],
    ];
    const seen: string[] = [];
    for (const [name, text] of servedByWeb) {
      const answer = await raw(text);
      seen.push(answer.body);
      if (answer.status !== 200 || !answer.body.includes('web saw web.shop.localhost')) leaked.push(`${name}: ${answer.status} ${answer.body.trim().slice(0, 120)}`);
    }
    // An absolute-form target reaches the service as a path, with the Host it was routed by.
    expect(seen.at(-1)).toContain(`web saw web.shop.localhost:${port} /y?z=1`);
    expect(leaked).toEqual([]);
    expect(await hitsOf('api')).toBe(0);
    expect(await hitsOf('admin')).toBe(0);
  });

  it('keeps the internal services\u2019 proxy ports and the router on loopback only', async () => {
    const ports = [rack.router.port, rack.runtime.internalPort('shop', 'api'), rack.runtime.internalPort('shop', 'admin'), rack.runtime.internalPort('shop', 'web')];
    for (const port of ports) {
      expect(port).toBeGreaterThan(0);
      expect(listeningAddresses(port ?? 0), `port ${port}`).toEqual(['127.0.0.1']);
      for (const address of externalAddresses()) expect(await accepts(address, port ?? 0), `port ${port} on ${address}`).toBe(false);
    }
    // A service reaches the internal one at its proxy port (what its Convox name points at).
    expect(await hitsOf('api')).toBe(0);
  });
});
