/**
 * The local runtime with real processes and real HTTP: rolling updates, readiness, crash loops,
 * the router and the internal names, one-off jobs, and a clean stop.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleaseId } from '../../lib/pipeline/domain/ids';
import type { ServiceImage } from '../../lib/pipeline/domain/model';
import { LocalRuntime, rollingBounds } from '../../lib/local/runtime/local-runtime';
import { LocalRouter } from '../../lib/local/runtime/router';
import { shellWords } from '../../lib/local/runtime/shell-words';
import { until } from '../support/local-pipeline';
import { getVia } from '../support/router-get';

const SERVER = `
const http = require('node:http');
if (process.env.CRASH === process.env.RELEASE) { console.error('boom: cannot start'); process.exit(3); }
const server = http.createServer(async (req, res) => {
  if (req.url === '/health') { res.writeHead(process.env.SICK === process.env.RELEASE ? 500 : 200); return res.end('ok'); }
  if (req.url === '/call') {
    const answer = await fetch(process.env.PEER_URL + '/whoami').then((r) => r.text());
    return res.end('peer says ' + answer);
  }
  res.end(process.env.SERVICE + ' ' + process.env.RELEASE + ' ' + (process.env.GREETING || ''));
});
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.pipe(socket);
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

let dir: string;
let runtime: LocalRuntime;
let router: LocalRouter;
let image: string;

function makeImage(name: string, files: Record<string, string>, config: { cmd: string[]; env?: Record<string, string> }): string {
  const ref = join(dir, 'images', name);
  mkdirSync(join(ref, 'rootfs', 'app'), { recursive: true });
  for (const [file, body] of Object.entries(files)) {
    mkdirSync(join(ref, 'rootfs', 'app', file, '..'), { recursive: true });
    writeFileSync(join(ref, 'rootfs', 'app', file), body);
  }
  writeFileSync(join(ref, 'image.json'), JSON.stringify({ version: 1, workdir: '/app', env: config.env ?? {}, entrypoint: [], cmd: config.cmd, expose: [], contextHash: name }));
  return ref;
}

const MANIFEST = (count = 2) => `
services:
  web:
    port: 3000
    health:
      path: /health
      grace: 0
      interval: 1
    environment:
      - GREETING=hello
      - PEER_URL=http://api.shop.convox.local:4000
    scale:
      count: ${count}
    termination:
      grace: 2
  api:
    port: 4000
    internal: true
    health:
      path: /health
      grace: 0
      interval: 1
`;

function apply(release: string, env: Record<string, string> = {}, manifest = MANIFEST()): Promise<void> {
  const images: ServiceImage[] = ['web', 'api'].map((service) => ({ service, image, contextHash: 'h', buildHash: 'h', reused: false }));
  return runtime.apply({ app: 'shop', release: { id: release as ReleaseId, app: 'shop', build: 'BAAAAAAAAAA', envVersion: 1, description: '', createdAt: '' }, manifest, images, env });
}

async function rollout(release: string): Promise<Awaited<ReturnType<LocalRuntime['rolloutStatus']>>> {
  let status = await runtime.rolloutStatus('shop', release as ReleaseId);
  const deadline = Date.now() + 30_000;
  while (status.state === 'progressing' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    status = await runtime.rolloutStatus('shop', release as ReleaseId);
  }
  return status;
}

const get = (path: string, host: string): Promise<{ status: number; body: string }> => getVia(router.port, host, path);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-runtime-'));
  image = makeImage('app', { 'server.js': SERVER, 'job.js': 'console.log("job", process.env.TIMER_INDEX ?? "-"); process.exit(Number(process.argv[2] ?? 0));' }, { cmd: ['node', 'server.js'] });
  runtime = new LocalRuntime({ stateDir: join(dir, 'state'), rack: 'local', resources: { linkEnv: () => Promise.resolve({}) } });
  await runtime.start();
  router = new LocalRouter(runtime);
  await router.start();
});

afterAll(async () => {
  await router.stop();
  await runtime.stop();
});

describe('local runtime (real processes, real HTTP)', () => {
  it('runs each service with `count` processes, routes public ones by host, and serves internal ones by their Convox names', async () => {
    await apply('R1');
    expect((await rollout('R1')).state).toBe('complete');
    expect(runtime.processes('shop').filter((p) => p.service === 'web' && p.ready)).toHaveLength(2);
    const ports = new Set(runtime.processes('shop').map((p) => p.port));
    expect(ports.size).toBe(3);
    expect(await get('/', 'web.shop.localhost')).toEqual({ status: 200, body: 'web R1 hello' });
    expect((await get('/call', 'web.shop.localhost')).body).toBe('peer says api R1 ');
    const internal = await get('/', 'api.shop.localhost');
    expect(internal.status).toBe(404);
    expect(internal.body).toContain('api.shop.convox.local:4000');
    expect((await get('/', 'nothing.shop.localhost')).status).toBe(404);
    expect(await runtime.probe('shop', 'R1', 'web')).toEqual({ ok: true, detail: 'HTTP 200' });
  });

  it('passes protocol upgrades (WebSockets) through the router as a byte stream', async () => {
    const socket = connect({ host: '127.0.0.1', port: router.port });
    socket.setEncoding('utf8');
    let received = '';
    socket.on('data', (c: string) => (received += c));
    socket.write('GET /ws HTTP/1.1\r\nHost: web.shop.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await until(() => received.includes('\r\n\r\n'));
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    received = '';
    socket.write('ping');
    await until(() => received === 'ping');
    socket.destroy();
  });

  it('replaces a release with a rolling update: the service answers throughout and the old processes go', async () => {
    const answers: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        answers.push((await get('/', 'web.shop.localhost')).status);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await apply('R2', { GREETING: 'hi' });
    expect((await rollout('R2')).state).toBe('complete');
    polling = false;
    await poller;
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(await get('/', 'web.shop.localhost')).toEqual({ status: 200, body: 'web R2 hi' });
    await until(() => runtime.processes('shop').every((p) => p.release === 'R2'));
  });

  it('fails a crash-looping release fast with the reason and the last output, while the old release keeps serving', async () => {
    await apply('R3', { CRASH: 'R3' });
    const status = await rollout('R3');
    expect(status.state).toBe('failed');
    if (status.state !== 'failed') return;
    expect(status.reason).toMatch(/^CrashLoopBackOff: (web|api)\.R3\.\d exited with code 3, restarted 3 times; last output: boom: cannot start/);
    expect((await get('/', 'web.shop.localhost')).body).toMatch(/^web R2/);
    await apply('R2', { GREETING: 'hi' });
    expect((await rollout('R2')).state).toBe('complete');
  }, 30_000);

  it('reports an image that is gone as ImagePullBackOff', async () => {
    const images: ServiceImage[] = [{ service: 'web', image: join(dir, 'images', 'gone'), contextHash: 'h', buildHash: 'h', reused: false }];
    await runtime.apply({ app: 'other', release: { id: 'R9', app: 'other', build: 'B', envVersion: 0, description: '', createdAt: '' }, manifest: 'services:\n  web:\n    port: 3000\n', images, env: {} });
    const status = await runtime.rolloutStatus('other', 'R9');
    expect(status).toMatchObject({ state: 'failed', service: 'web' });
    if (status.state === 'failed') expect(status.reason).toMatch(/^ImagePullBackOff: local image .*gone has no image.json/);
    await runtime.remove('other');
  });

  it('scales a service live', async () => {
    runtime.scale('shop', 'web', 3);
    await until(() => runtime.processes('shop').filter((p) => p.service === 'web' && p.ready).length === 3);
    runtime.scale('shop', 'web', 1);
    await until(() => runtime.processes('shop').filter((p) => p.service === 'web').length === 1);
  });

  it('runs one-off jobs to completion, in parallel copies with TIMER_INDEX, and reports exit codes', async () => {
    const ok = await runtime.runJob({ app: 'shop', release: 'R2', service: 'web', command: 'node job.js 0', image, env: {}, timer: 'nightly', parallelism: 2 });
    let state = await runtime.jobStatus(ok.job);
    for (let i = 0; i < 100 && state.state === 'running'; i++) state = await new Promise((r) => setTimeout(() => void runtime.jobStatus(ok.job).then(r), 50));
    expect(state).toEqual({ state: 'succeeded' });
    const bad = await runtime.runJob({ app: 'shop', release: 'R2', service: 'web', command: 'node job.js 7', image, env: {}, parallelism: 1 });
    for (let i = 0; i < 100 && (await runtime.jobStatus(bad.job)).state === 'running'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await runtime.jobStatus(bad.job)).toEqual({ state: 'failed', reason: 'exited with code 7; last output: job -', exitCode: 7 });
    expect(await runtime.runningJobs('shop', 'nightly')).toEqual([]);
    expect(await runtime.pruneJobs('shop', Date.now())).toBe(2);
  });

  it('finds commands on the image\u2019s PATH inside the image folder (ENV PATH=/app/bin:$PATH)', async () => {
    const withBin = makeImage('with-bin', { 'bin/hello': '#!/bin/sh\necho "hello from $HOME"\n' }, { cmd: [], env: { PATH: `/app/bin:${process.env.PATH ?? ''}`, HOME: '/app' } });
    chmodSync(join(withBin, 'rootfs', 'app', 'bin', 'hello'), 0o755);
    const { job } = await runtime.runJob({ app: 'shop', release: 'R2', service: 'web', command: 'hello', image: withBin, env: {}, parallelism: 1 });
    let state = await runtime.jobStatus(job);
    for (let i = 0; i < 100 && state.state === 'running'; i++) state = await new Promise((r) => setTimeout(() => void runtime.jobStatus(job).then(r), 50));
    expect(state).toEqual({ state: 'succeeded' });
    const log = readFileSync(join(dir, 'state', 'logs', 'apps', 'shop.jsonl'), 'utf8');
    expect(log).toContain(`hello from ${join(withBin, 'rootfs', 'app')}`);
  });

  it('stops every process it started', async () => {
    const pids = runtime.processes('shop').flatMap((p) => (p.pid ? [p.pid] : []));
    expect(pids.length).toBeGreaterThan(0);
    await runtime.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('rolling bounds and commands', () => {
  it('turns Convox deployment percentages into surge and unavailability as Kubernetes rounds them', () => {
    expect(rollingBounds(2, { minimum: 50, maximum: 200 })).toEqual({ surge: 2, unavailable: 1 });
    expect(rollingBounds(1, { minimum: 100, maximum: 100 })).toEqual({ surge: 1, unavailable: 0 });
    expect(rollingBounds(3, { minimum: 100, maximum: 150 })).toEqual({ surge: 2, unavailable: 0 });
  });

  it('splits commands as a shell would, without expanding anything', () => {
    expect(shellWords(`node bin/x.js --name "a b" 'c $d' e\\ f`)).toEqual(['node', 'bin/x.js', '--name', 'a b', 'c $d', 'e f']);
    expect(() => shellWords('echo "open')).toThrow(/quote is not closed/);
  });
});
