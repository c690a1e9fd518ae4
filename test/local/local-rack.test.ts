/**
 * The local rack end to end, in process: the synthesized state machines on the local runner,
 * the host builder, a real Redis server, real service processes behind the router. One app goes
 * through a first deploy, a change to one service, a deploy whose health check fails (rolled
 * back automatically), a console rollback, and its timer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import type { SlipwayEvent } from '../../lib/pipeline/events';
import { LocalRack } from '../../lib/local/rack/local-rack';
import { getVia } from '../support/router-get';

const MANIFEST = `
services:
  web:
    build: .
    port: 3000
    health:
      path: /health
      grace: 0
      interval: 1
    environment:
      - API_URL=http://api.shop.convox.local:4000
    resources:
      - cache
  api:
    build: ./api
    port: 4000
    internal: true
    health:
      path: /health
      grace: 0
      interval: 1
resources:
  cache:
    type: redis
timers:
  tick:
    schedule: "*/5 * * * *"
    command: node tick.js
    service: web
`;

const SERVER = (version: string, healthy = true): string => `
const http = require('node:http');
const server = http.createServer(async (req, res) => {
  if (req.url === '/health') { res.writeHead(${healthy ? 200 : 503}); return res.end(); }
  if (req.url === '/api') return res.end(await fetch(process.env.API_URL + '/').then((r) => r.text()));
  res.end('web ${version} cache=' + (process.env.CACHE_URL || '').startsWith('redis://'));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const API = `
const http = require('node:http');
const server = http.createServer((req, res) => res.end(req.url === '/health' ? 'ok' : 'api ' + process.env.RELEASE));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const DOCKERFILE = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN echo built > built.txt\nCMD ["node", "server.js"]\n';

function bundle(version: string, healthy = true): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: DOCKERFILE },
    { name: '.dockerignore', body: 'api\n' },
    { name: 'server.js', body: SERVER(version, healthy) },
    { name: 'tick.js', body: 'console.log("tick ran on", process.env.RELEASE)\n' },
    { name: 'api/Dockerfile', body: DOCKERFILE },
    { name: 'api/server.js', body: API },
  ]);
}

let rack: LocalRack;
let now = Date.UTC(2026, 10, 28, 12, 1);
const events: SlipwayEvent[] = [];

const get = (host: string, path = '/'): Promise<{ status: number; body: string }> => getVia(rack.router.port, host, path);

async function deploy(version: string, healthy = true) {
  const since = events.length;
  const { execution } = await rack.deploy('shop', bundle(version, healthy));
  const outcome = await rack.outcome('Deploy', execution);
  return { outcome, events: events.slice(since).filter((e) => e.detail.execution === execution) };
}

const types = (list: SlipwayEvent[]): string[] => list.map((e) => e['detail-type']);

beforeAll(async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'slipway-rack-'));
  rack = await LocalRack.start({ stateDir, deploy: { bakeSeconds: 1, progressDeadlineSeconds: 8 }, waitMs: 200, schedulerNow: () => now, onEvent: (e) => events.push(e) });
  await rack.createApp('shop');
}, 60_000);

afterAll(async () => {
  await rack.stop();
}, 60_000);

describe('the local rack, end to end (real builds, Redis, processes and HTTP)', () => {
  it('deploys an app: builds both services, starts Redis, serves the public service and reaches the internal one', async () => {
    const { outcome, events: seen } = await deploy('v1');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(types(seen)).toEqual(expect.arrayContaining(['Deployment Started', 'Build Started', 'Build Succeeded', 'Release Created', 'Resources Provisioned', 'Rollout Started', 'Health Gate Passed', 'Deployment Succeeded']));
    expect(seen.filter((e) => e['detail-type'] === 'Build Started').map((e) => e.detail.service).sort()).toEqual(['api', 'web']);
    expect(await get('web.shop.localhost')).toEqual({ status: 200, body: 'web v1 cache=true' });
    const release = (await rack.store.requireApp('shop')).release;
    expect((await get('web.shop.localhost', '/api')).body).toBe(`api ${release}`);
    expect((await get('api.shop.localhost')).status).toBe(404);
    expect(rack.urls('shop')).toEqual([
      { service: 'web', url: `http://web.shop.localhost:${rack.router.port}`, internal: false, internalName: 'web.shop.convox.local:3000' },
      { service: 'api', url: '', internal: true, internalName: 'api.shop.convox.local:4000' },
    ]);
    expect(rack.scheduler.list('shop')).toEqual([{ name: 'tick', schedule: '*/5 * * * *' }]);
  }, 120_000);

  it('rebuilds only the service that changed', async () => {
    const { outcome, events: seen } = await deploy('v2');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(seen.filter((e) => e['detail-type'] === 'Build Started').map((e) => e.detail.service)).toEqual(['web']);
    expect(seen.filter((e) => e['detail-type'] === 'Build Reused').map((e) => e.detail.service)).toEqual(['api']);
    expect((await get('web.shop.localhost')).body).toBe('web v2 cache=true');
  }, 120_000);

  it('rolls a release whose health check fails back automatically, with an alert event, and the previous release keeps serving', async () => {
    const before = (await rack.store.requireApp('shop')).release;
    const { outcome, events: seen } = await deploy('v3', false);
    expect(outcome).toMatchObject({ status: 'FAILED', error: 'DeploymentRolledBack' });
    expect(types(seen)).toEqual(expect.arrayContaining(['Rollout Failed', 'Deployment Rolled Back']));
    expect(seen.find((e) => e['detail-type'] === 'Rollout Failed')?.detail.reason).toMatch(/missed its progress deadline \(web: 0\/1 ready after 8s, health check \/health: HTTP 503\)/);
    const rolledBack = seen.find((e) => e['detail-type'] === 'Deployment Rolled Back');
    expect(rolledBack?.detail.previousRelease).toBe(before);
    expect((await rack.store.requireApp('shop')).release).toBe(before);
    expect((await get('web.shop.localhost')).body).toBe('web v2 cache=true');
  }, 120_000);

  it('rolls back from the Rollback machine to a chosen release, which then serves, and pins the app', async () => {
    const releases = await rack.store.listReleases('shop');
    const first = releases[releases.length - 1];
    const { outcome } = rack.rollback({ app: 'shop', release: first?.id ?? '' });
    expect(await outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect((await get('web.shop.localhost')).body).toBe('web v1 cache=true');
    const app = await rack.store.requireApp('shop');
    expect(app.pin?.release).toBe(app.release);
    expect((await rack.store.getRelease('shop', app.release ?? ('' as never)))?.description).toBe(`rollback to ${first?.id ?? ''}`);
  }, 120_000);

  it('runs the timer on its schedule through the Timer machine', async () => {
    const since = events.length;
    now = Date.UTC(2026, 10, 28, 12, 5);
    rack.scheduler.tick();
    const deadline = Date.now() + 30_000;
    while (!events.slice(since).some((e) => e['detail-type'] === 'Timer Succeeded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(types(events.slice(since))).toEqual(['Timer Started', 'Timer Succeeded']);
    expect(events[since]?.detail).toMatchObject({ app: 'shop', timer: 'tick' });
  }, 60_000);
});
