/**
 * The local rack's router: one HTTP listener on loopback that serves every public service of
 * every app, at `http://<service>.<app>.localhost:<port>` and at the service's `domain`s, chosen by
 * the Host header. Browsers resolve `*.localhost` to loopback by themselves. Internal services are
 * not routed: other services reach them by their Convox names.
 */
import { createServer, request as httpRequest } from 'node:http';
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
    const route = this.lookup(req.headers.host);
    if ('status' in route) return refuse(res, route.status, route.message);
    const port = this.apps.backend(route.app, route.service);
    if (!port) return refuse(res, 503, `service ${route.service} of app ${route.app} has no ready process`);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: forwarded(req) }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (e) => {
      if (!res.headersSent) refuse(res, 502, `service ${route.service} of app ${route.app} did not answer: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  /** WebSocket and other upgrades pass through as a byte stream. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = this.lookup(req.headers.host);
    const port = 'status' in route ? undefined : this.apps.backend(route.app, route.service);
    if (!port) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = connect({ host: LOOPBACK, port }, () => {
      const headers = Object.entries(forwarded(req)).map(([k, v]) => `${k}: ${String(v)}`);
      upstream.write(`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      splice(socket, upstream);
    });
    // Until it connects, a failure of the upstream only needs the client's connection closed.
    upstream.once('error', () => socket.destroy());
  }
}

function forwarded(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  const client = req.socket.remoteAddress ?? '127.0.0.1';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${client}` : client;
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-slipway-router': 'local' });
  res.end(`${message}\n`);
}
