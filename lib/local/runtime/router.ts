/**
 * The local rack's router: one HTTP listener on loopback that serves every public service of
 * every app, at `http://<service>.<app>.localhost:<port>` and at the service's `domain`s, chosen by
 * the Host header. Browsers resolve `*.localhost` to loopback by themselves. Internal services are
 * not routed: other services reach them by their Convox names.
 */
import { STATUS_CODES, createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Service } from '../../manifest';
import { LOOPBACK, splice } from '../loopback';

export interface RoutedApps {
  appNames(): string[];
  applied(app: string): { services: { name: string; service: Service }[] };
  backend(app: string, service: string): number | undefined;
}

export type RouteLookup = { readonly app: string; readonly service: string } | { readonly status: number; readonly message: string };

export const LOCAL_DOMAIN = 'localhost';

export class LocalRouter {
  private server?: Server;
  private boundPort = 0;

  constructor(private readonly apps: RoutedApps) {}

  get port(): number {
    return this.boundPort;
  }

  /** The URL of a public service of an app. */
  url(app: string, service: string): string {
    return `http://${service}.${app}.${LOCAL_DOMAIN}:${this.boundPort}`;
  }

  async start(port = 0): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host: '127.0.0.1', port }, resolve));
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
    this.server = server;
    return this.boundPort;
  }

  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Which app and service a Host header names, or why none serves it. */
  lookup(hostHeader: string | undefined): RouteLookup {
    const host = (hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
    const suffix = `.${LOCAL_DOMAIN}`;
    for (const app of this.apps.appNames()) {
      for (const { name, service } of this.apps.applied(app).services) {
        const names = [`${name}.${app}${suffix}`, ...(service.domain ?? []).map((d) => d.toLowerCase())];
        if (!names.includes(host)) continue;
        if (!service.port) return { status: 404, message: `service ${name} of app ${app} has no port to route to` };
        if (service.internal || service.internalRouter) return { status: 404, message: `service ${name} of app ${app} is internal: other services reach it at ${name}.${app}.convox.local:${service.port.port}` };
        return { app, service: name };
      }
    }
    return { status: 404, message: `no service is routed at ${host || '(no Host header)'}; services are served at http://<service>.<app>.${LOCAL_DOMAIN}:${this.boundPort}` };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = requestTarget(req);
    if ('status' in target) return refuse(res, target.status, target.message);
    const route = this.lookup(target.host);
    if ('status' in route) return refuse(res, route.status, route.message);
    const port = this.apps.backend(route.app, route.service);
    if (!port) return refuse(res, 503, `service ${route.service} of app ${route.app} has no ready process`);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: target.path, headers: forwarded(req, target.host) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) refuse(res, 502, `service ${route.service} of app ${route.app} did not answer: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  /**
   * WebSocket and other upgrades pass through as a byte stream. A Host that routes nowhere (or to
   * an internal service) is refused as a plain request is, 404 with why; 503 is for a routed
   * service with no ready process.
   */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = requestTarget(req);
    const route = 'status' in target ? target : this.lookup(target.host);
    if ('status' in route) {
      refuseUpgrade(socket, route.status, route.message);
      return;
    }
    const port = this.apps.backend(route.app, route.service);
    if (!port) {
      refuseUpgrade(socket, 503, `service ${route.service} of app ${route.app} has no ready process`);
      return;
    }
    const { host, path } = target as { host: string; path: string };
    const upstream = connect({ host: LOOPBACK, port }, () => {
      const headers = Object.entries(forwarded(req, host)).map(([k, v]) => `${k}: ${String(v)}`);
      upstream.write(`${req.method ?? 'GET'} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      splice(socket, upstream);
    });
    // Until it connects, a failure of the upstream only needs the client's connection closed.
    upstream.once('error', () => socket.destroy());
  }
}

/**
 * The host a request is for and the path to send on. A request with more than one Host header is
 * refused (RFC 9112 3.2: 400), since proxies and servers disagree on which one counts. A target in
 * absolute form (`GET http://api.shop.convox.local:4000/ HTTP/1.1`) names the host itself, which
 * wins over the Host header (RFC 9112 3.2.2), so a request cannot reach one service while its Host
 * names another; the service gets the path only.
 */
function requestTarget(req: IncomingMessage): { readonly host: string; readonly path: string } | { readonly status: number; readonly message: string } {
  const hosts = req.rawHeaders.filter((_, i) => i % 2 === 0 && req.rawHeaders[i]?.toLowerCase() === 'host').length;
  if (hosts > 1) return { status: 400, message: 'the request has more than one Host header' };
  const url = req.url ?? '/';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { host: req.headers.host ?? '', path: url };
  let absolute: URL;
  try {
    absolute = new URL(url);
  } catch {
    return { status: 400, message: 'the request target is not a valid URL' };
  }
  if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') return { status: 400, message: `the router does not serve ${absolute.protocol} request targets` };
  return { host: absolute.host, path: `${absolute.pathname}${absolute.search}` };
}

function forwarded(req: IncomingMessage, host: string): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  // The host the request was routed by (an absolute-form target's, which replaces Host as RFC 9112 says).
  headers.host = host;
  const client = req.socket.remoteAddress ?? '127.0.0.1';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  headers['x-forwarded-host'] = host;
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Slipway-Router: local\r\nConnection: close\r\n\r\n${body}`);
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-slipway-router': 'local' });
  res.end(`${message}\n`);
}
