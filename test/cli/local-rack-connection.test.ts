/**
 * LocalRackConnection against a real local rack: the rack and its API server run in this process
 * on a temp state folder, the connection talks to them over loopback HTTP with the rack's token,
 * and real builds and service processes run behind it. One app goes through every RackConnection
 * call: upload, follow, inspect, env, promote, rollback, scale, one-off runs, cancel, delete.
 * Waits poll an execution's status with a bound; no sleep is an assertion.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRackConnection } from '../../lib/cli/racks/local-rack-connection';
import type { ExecutionRef, ExecutionStatus, LogEntry } from '../../lib/cli/racks/rack-connection';
import { RackApiServer } from '../../lib/local/rack/api-server';
import { RackNotRunningError } from '../../lib/local/rack/client';
import { NoDeployRunningError } from '../../lib/local/rack/errors';
import { LocalRack } from '../../lib/local/rack/local-rack';
import { tarArchive } from '../../lib/pipeline/bundle/tar-writer';
import { getVia } from '../support/router-get';
import { QUICK_WEB_SERVICE } from '../support/quick-web-service';

const APP = 'shop';

const MANIFEST = `${QUICK_WEB_SERVICE}    environment:
      - GREETING=hi
timers:
  tick:
    schedule: "0 3 * * *"
    command: node tick.js
    service: web
`;

const SERVER = (version: string, healthy: boolean): string => `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(${healthy ? 200 : 503}); return res.end(); }
  console.log('hit ' + req.url);
  res.end(process.env.GREETING + ' from ${version}');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Big enough to go up in several pieces. */
const PADDING = randomBytes(200 * 1024).toString('base64');

function bundle(version: string, healthy = true): Buffer {
  return tarArchive([
    { name: 'convox.yml', body: MANIFEST },
    { name: 'Dockerfile', body: 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n' },
    { name: 'server.js', body: SERVER(version, healthy) },
    { name: 'tick.js', body: 'console.log("tick ran")\n' },
    { name: 'padding.txt', body: PADDING },
  ]);
}

let stateDir: string;
let rack: LocalRack;
let api: RackApiServer;
let conn: LocalRackConnection;
let routerPort: number;
/** Releases by role, as the tests make them. */
const releases: Record<string, string> = {};

async function settle(ref: ExecutionRef, timeoutMs = 90_000): Promise<ExecutionStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await conn.execution(ref);
    if (status.status !== 'RUNNING') return status;
    if (Date.now() > deadline) throw new Error(`${ref.machine} ${ref.name} still runs after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const eventTypes = async (execution: string): Promise<string[]> => (await conn.events({ execution })).map((e) => e['detail-type']);
const get = (path = '/'): Promise<{ status: number; body: string }> => getVia(routerPort, `web.${APP}.localhost`, path);

beforeAll(async () => {
  stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-conn-')), 'state');
  rack = await LocalRack.start({ stateDir, deploy: { bakeSeconds: 1, progressDeadlineSeconds: 20 }, waitMs: 200 });
  api = new RackApiServer(rack, () => undefined);
  await api.start();
  conn = await LocalRackConnection.connect(stateDir);
}, 60_000);

afterAll(async () => {
  await api.stop();
  await rack.stop();
  rmSync(join(stateDir, '..'), { recursive: true, force: true });
}, 60_000);

describe('LocalRackConnection against a real local rack (real HTTP, builds and processes)', () => {
  it('describes the rack and refuses a state folder where no rack runs', async () => {
    const info = await conn.info();
    expect(info).toMatchObject({ name: 'local', kind: 'local', status: 'running', location: stateDir });
    expect(info.parameters).toMatchObject({ StateDir: stateDir, Pid: String(process.pid) });
    routerPort = Number(info.parameters.RouterPort);
    expect(routerPort).toBeGreaterThan(0);
    expect(conn.name).toBe('local');
    await expect(LocalRackConnection.connect(join(stateDir, '..', 'nowhere'))).rejects.toBeInstanceOf(RackNotRunningError);
  });

  it('answers only the holder of the rack token, with JSON errors that carry a code', async () => {
    const base = (JSON.parse(readFileSync(join(stateDir, 'rack.json'), 'utf8')) as { api: string }).api;
    const anonymous = await fetch(`${base}/v1/apps`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'missing or wrong rack token', code: 'UNAUTHORIZED' });
    const token = readFileSync(join(stateDir, 'rack.token'), 'utf8').trim();
    const unknown = await fetch(`${base}/v1/nothing`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
 
    // An app name that is a path (it would name the app's log file) is no app.
    const escape = await fetch(`${base}/v1/apps/..%2F..%2F..%2Fetc%2Fpasswd/logs`, { headers: { authorization: `Bearer ${token}` } });
    expect(escape.status).toBe(404);
    expect(await escape.json()).toMatchObject({ error: 'app not found: ../../../etc/passwd' });
  });

  it('creates an app and sets its environment before any release', async () => {
    expect(await conn.createApp(APP)).toMatchObject({ name: APP });
    expect((await conn.apps()).map((a) => a.name)).toEqual([APP]);
    expect(await conn.app(APP)).not.toHaveProperty('urls');
    const changed = await conn.changeEnv(APP, { set: { GREETING: 'hello' } });
    expect(changed.release).toBeUndefined();
    expect(await conn.env(APP)).toEqual({ version: changed.envVersion, values: { GREETING: 'hello' } });
    await expect(conn.app('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('uploads a bundle in pieces with progress, and its deploy runs to SUCCEEDED', async () => {
    const body = bundle('v1');
    const progress: number[] = [];
    const ref = await conn.upload(APP, body, { promote: true, autoRollback: true, description: 'first deploy ✓', onProgress: (sent, total) => progress.push(sent / total) });
    expect(ref).toMatchObject({ machine: 'Deploy', key: `apps/${APP}/bundles/app.tgz` });
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const status = await settle(ref);
    expect(status).toMatchObject({ status: 'SUCCEEDED', machine: 'Deploy', name: ref.name });
    expect(await eventTypes(ref.name)).toEqual(expect.arrayContaining(['Deployment Started', 'Build Started', 'Release Created', 'Deployment Succeeded']));
    releases.v1 = (await conn.app(APP)).release ?? '';
    expect(releases.v1).toMatch(/^R/);
    expect((await get('/')).body).toBe('hello from v1');
  }, 120_000);

  it('lists services, processes, scale and timers of the running release', async () => {
    expect(await conn.services(APP)).toEqual([{ service: 'web', url: `http://web.${APP}.localhost:${routerPort}`, internal: false, internalName: `web.${APP}.convox.local:3000` }]);
    const processes = await until('a running web process', async () => {
      const list = await conn.processes(APP);
      return list.some((p) => p.status === 'running') ? list : undefined;
    });
    expect(processes).toEqual([expect.objectContaining({ id: `web.${releases.v1}.1`, service: 'web', status: 'running', release: releases.v1 })]);
    const started = Date.parse(processes[0]?.started ?? '');
    expect(Math.abs(Date.now() - started)).toBeLessThan(5 * 60_000);
    expect(await conn.scale(APP)).toEqual([expect.objectContaining({ service: 'web', desired: 1, running: 1 })]);
    expect(await conn.timers(APP)).toEqual([{ name: 'tick', schedule: '0 3 * * *', service: 'web', command: 'node tick.js' }]);
  });

  it('reads logs with a server-side filter, and follows new lines once each until aborted', async () => {
    const since = Date.now() - 60_000;
    await get('/first');
    await until('the first hit in the log', async () => ((await collect({ since, follow: false, filter: 'hit /first' })).length > 0 ? true : undefined));
    expect((await collect({ since, follow: false })).map((l) => l.text)).toEqual(expect.arrayContaining(['hit /', 'hit /first', `applying release ${releases.v1 ?? ''}`]));
    const filtered = await collect({ since, follow: false, filter: 'hit /f' });
    expect(filtered.map((l) => l.text)).toEqual(['hit /first']);
    expect(filtered[0]).toMatchObject({ service: 'web', process: `web.${releases.v1}.1`, release: releases.v1 });
    expect(await collect({ since, follow: false, service: 'nothing' })).toEqual([]);

    const controller = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const line of conn.logs(APP, { since, follow: true, filter: 'hit /', signal: controller.signal })) {
        seen.push(line.text);
        if (seen.includes('hit /c')) controller.abort();
      }
    })();
    // Three requests in a burst: lines that may share a millisecond must each arrive once.
    await Promise.all([get('/a'), get('/b'), get('/c')]);
    await until('the followed lines', () => Promise.resolve(seen.includes('hit /c') ? true : undefined));
    await following;
    expect(seen.every((t) => t.startsWith('hit /'))).toBe(true);
    for (const path of ['/first', '/a', '/b', '/c']) expect(seen.filter((t) => t === `hit ${path}`)).toHaveLength(1);
  });

  it('lists events of the app and of one execution, oldest first', async () => {
    const events = await conn.events({ app: APP });
    expect(events.length).toBeGreaterThan(3);
    expect(events.every((e) => e.detail.app === APP)).toBe(true);
    expect(events.map((e) => e.time)).toEqual([...events.map((e) => e.time)].sort());
    const later = await conn.events({ app: APP, since: Date.parse(events.at(-1)?.time ?? '') });
    expect(later.length).toBeGreaterThan(0);
    expect(later.length).toBeLessThan(events.length);
    expect(await conn.events({ app: 'other' })).toEqual([]);
  });

  it('lists releases and builds, with a release\'s manifest and a build\'s log', async () => {
    const list = await conn.releases(APP);
    expect(list.map((r) => r.id)).toContain(releases.v1);
    const release = await conn.release(APP, releases.v1 ?? '');
    expect(release.manifest).toBe(MANIFEST);
    const builds = await conn.builds(APP);
    expect(builds).toEqual([expect.objectContaining({ id: release.build, status: 'complete' })]);
    expect(builds[0]).not.toHaveProperty('manifest');
    expect(await conn.buildLogs(APP, release.build)).toMatch(/\S/);
    await expect(conn.release(APP, 'RAAAAAAAAAA')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(conn.buildLogs(APP, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('changes the env into a new release, promotes it, and reads each release\'s env', async () => {
    const changed = await conn.changeEnv(APP, { set: { GREETING: 'bonjour' } });
    expect(changed.release).toMatch(/^R/);
    releases.env = changed.release ?? '';
    expect((await conn.app(APP)).release).toBe(releases.v1);
    expect((await conn.env(APP)).values).toEqual({ GREETING: 'bonjour' });
    expect((await conn.env(APP, releases.v1)).values).toEqual({ GREETING: 'hello' });
    const ref = await conn.promote(APP, releases.env);
    expect(ref.machine).toBe('Rollback');
    expect(await settle(ref)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await conn.app(APP)).toMatchObject({ release: releases.env });
    expect((await conn.app(APP)).pin).toBeUndefined();
    expect((await get('/')).body).toBe('bonjour from v1');
  }, 90_000);

  it('rolls back to a release, pinning the app, and unpins it', async () => {
    const ref = await conn.rollback(APP, { release: releases.v1, reason: 'testing' });
    expect(await settle(ref)).toMatchObject({ status: 'SUCCEEDED' });
    const app = await conn.app(APP);
    expect(app.pin).toMatchObject({ reason: 'testing' });
    expect((await get('/')).body).toBe('hello from v1');
    expect((await conn.unpin(APP)).pin).toBeUndefined();
  }, 90_000);

  it('scales a service through the Rollback machine', async () => {
    const ref = await conn.setScale(APP, 'web', { count: 2 });
    expect(ref.machine).toBe('Rollback');
    expect(await settle(ref)).toMatchObject({ status: 'SUCCEEDED' });
    expect((await conn.app(APP)).scale).toEqual({ web: { count: 2 } });
    const scale = await until('two running web processes', async () => {
      const s = await conn.scale(APP);
      return s[0]?.running === 2 ? s : undefined;
    });
    expect(scale).toEqual([expect.objectContaining({ service: 'web', desired: 2, running: 2 })]);
    await expect(conn.setScale(APP, 'nope', { count: 1 })).rejects.toMatchObject({ status: 400 });
  }, 90_000);

  it('runs one-off jobs and timers through the Timer machine', async () => {
    const ok = await conn.run(APP, { service: 'web', command: 'node -e "console.log(1 + 1)"' });
    expect(ok.machine).toBe('Timer');
    expect(await settle(ok)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await eventTypes(ok.name)).toEqual(expect.arrayContaining(['Run Started', 'Run Succeeded']));
    const bad = await conn.run(APP, { service: 'web', command: 'node -e "process.exit(3)"', release: releases.v1 });
    expect(await settle(bad)).toMatchObject({ status: 'FAILED' });
    expect(await eventTypes(bad.name)).toEqual(expect.arrayContaining(['Run Started', 'Run Failed']));
    const timer = await conn.runTimer(APP, 'tick');
    expect(await settle(timer)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await eventTypes(timer.name)).toEqual(expect.arrayContaining(['Timer Started', 'Timer Succeeded']));
  }, 90_000);

  it('builds without promoting when asked', async () => {
    const before = (await conn.app(APP)).release;
    const ref = await conn.upload(APP, bundle('v2'), { promote: false, autoRollback: true });
    expect(await settle(ref)).toMatchObject({ status: 'SUCCEEDED' });
    const created = (await conn.events({ execution: ref.name })).find((e) => e['detail-type'] === 'Release Created')?.detail.release;
    expect(created).toMatch(/^R/);
    expect((await conn.app(APP)).release).toBe(before);
    expect((await conn.releases(APP)).map((r) => r.id)).toContain(created);
  }, 120_000);

  it('cancels a deploy during its rollout and puts back the release that served', async () => {
    await expect(conn.cancel(APP)).rejects.toBeInstanceOf(NoDeployRunningError);
    const before = (await conn.app(APP)).release;
    const ref = await conn.upload(APP, bundle('v3', false), { promote: true, autoRollback: true });
    await until('the rollout of the unhealthy release', async () => ((await eventTypes(ref.name)).includes('Rollout Started') ? true : undefined), 90_000);
    const cancel = await conn.cancel(APP);
    expect(cancel.machine).toBe('Rollback');
    expect(await settle(cancel)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await conn.execution(ref)).toMatchObject({ status: 'ABORTED' });
    expect(await eventTypes(cancel.name)).toContain('Deployment Cancelled');
    expect((await conn.app(APP)).release).toBe(before);
    expect((await get('/')).body).toBe('hello from v1');
  }, 150_000);

  it('deletes the app', async () => {
    expect(await conn.deleteApp(APP)).toBeUndefined();
    expect(await conn.apps()).toEqual([]);
    await expect(conn.app(APP)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await conn.services(APP).catch((e: { code?: string }) => e.code)).toBe('NOT_FOUND');
    expect((await get('/')).status).toBe(404);
  }, 60_000);
});

async function collect(query: { since: number; follow: boolean; filter?: string; service?: string }): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const line of conn.logs(APP, query)) out.push(line);
  return out;
}
