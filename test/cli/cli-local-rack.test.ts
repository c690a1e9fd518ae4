/**
 * A user's session with the local rack, through the real `slipway` command: start the rack in the
 * background, deploy, change one service and deploy again, deploy a version whose health check
 * fails, roll back from the Rollback machine, kill the rack mid-deploy and start it again, stop.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';
import { getVia } from '../support/router-get';
import type { RackEndpoint } from '../../lib/local/rack/api-server';
import { processAlive } from '../../lib/local/rack/client';

let stateDir: string;
let appDir: string;
let endpoint: RackEndpoint;

const cli = (...args: string[]) => runCli([...args, '--state-dir', stateDir], { cwd: appDir });

const MANIFEST = `services:
  web:
    build: .
    port: 3000
    health:
      path: /health
      grace: 0
      interval: 1
    labels:
      slipway/progress-deadline-seconds: "8"
    environment:
      - GREETING
  worker:
    build: ./worker
`;

function writeApp(version: string, options: { healthy?: boolean; slowBuild?: boolean; worker?: string } = {}): void {
  mkdirSync(join(appDir, 'worker'), { recursive: true });
  writeFileSync(join(appDir, 'convox.yml'), MANIFEST);
  writeFileSync(join(appDir, '.dockerignore'), 'worker\n');
  writeFileSync(join(appDir, 'Dockerfile'), `FROM node:20-alpine\nWORKDIR /app\nCOPY . .\n${options.slowBuild ? 'RUN sleep 30\n' : ''}CMD ["node", "server.js"]\n`);
  writeFileSync(
    join(appDir, 'server.js'),
    `const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(${options.healthy === false ? 500 : 200}); return res.end(); }
  res.end(process.env.GREETING + ' from ${version}');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  );
  writeFileSync(join(appDir, 'worker', 'Dockerfile'), 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "worker.js"]\n');
  writeFileSync(join(appDir, 'worker', 'worker.js'), `console.log('worker ${options.worker ?? 'w1'} up'); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));\n`);
}

const get = (path = '/'): Promise<{ status: number; body: string }> => getVia(endpoint.routerPort, 'web.shop.localhost', path);

const readEndpoint = (): RackEndpoint => JSON.parse(readFileSync(join(stateDir, 'rack.json'), 'utf8')) as RackEndpoint;
const alive = processAlive;
/** Processes end a moment after their signal: wait for them (a few seconds at most) before judging. */
async function survivors(pids: readonly number[]): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive).map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
}
const appPids = (): number[] => JSON.parse(readFileSync(join(stateDir, 'runtime', 'pids.json'), 'utf8')) as number[];

beforeAll(() => {
  stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-session-')), 'state');
  appDir = mkdtempSync(join(tmpdir(), 'slipway-app-'));
  writeApp('v1');
});

afterAll(async () => {
  await runCli(['rack', 'stop', '--state-dir', stateDir]);
  rmSync(appDir, { recursive: true, force: true });
}, 90_000);

describe('a session with the local rack through the CLI (real processes)', () => {
  it('starts the rack in the background, with its token readable only by its owner', async () => {
    const r = await cli('rack', 'start', '--local', '--detach');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/local rack started in the background \(pid \d+\)/);
    endpoint = readEndpoint();
    expect(statSync(join(stateDir, 'rack.token')).mode & 0o777).toBe(0o600);
    const status = await cli('rack', 'status');
    expect(status.stdout).toContain('status   running');
    expect((await cli('apps', 'create', 'shop')).code).toBe(0);
    expect((await cli('env', 'set', 'GREETING=hello', '-a', 'shop')).stdout).toBe('set GREETING on shop (env version 1); the next deploy uses them\n');
  }, 90_000);

  it('deploys, printing only the release id with --id', async () => {
    const r = await cli('deploy', '.', '-a', 'shop', '--id');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^R[A-Z]{10}\n$/);
    expect(r.stderr).toContain('event Deployment Succeeded');
    expect(await get()).toEqual({ status: 200, body: 'hello from v1' });
  }, 120_000);

  it('rebuilds only the service that changed', async () => {
    writeApp('v2');
    const r = await cli('deploy', '.', '-a', 'shop');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/event Build Reused worker/);
    expect(r.stdout).toMatch(/event Build Started web/);
    expect(r.stdout).not.toMatch(/event Build Started worker/);
    expect(await get()).toEqual({ status: 200, body: 'hello from v2' });
  }, 120_000);

  it('scales a service live and shows the logs of every process, with service, release and time', async () => {
    const r = await cli('scale', 'web', '--count', '2', '-a', 'shop');
    expect(r.stdout).toBe('scaled web of shop to 2 processes\n');
    const deadline = Date.now() + 30_000;
    let logs = await cli('logs', '-a', 'shop', '--since', '1h', '--no-follow');
    while (!/web\/web\.R[A-Z]{10}\.2 ready/.test(logs.stdout) && Date.now() < deadline) logs = await cli('logs', '-a', 'shop', '--since', '1h', '--no-follow');
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ web\/web\.R[A-Z]{10}\.2 ready \(\/health answered HTTP 200\)$/m);
    expect(logs.stdout).toMatch(/^\S+ worker\/worker\.R[A-Z]{10}\.1 worker w1 up$/m);
    expect((await cli('scale', 'web', '--count', 'many', '-a', 'shop')).stderr).toContain('--count many is not a whole number from 0 to 100');
    expect((await cli('scale', 'web', '--count', '1', '-a', 'shop')).code).toBe(0);
  }, 60_000);

  it('rolls back a version whose health check fails by itself, says why, and exits 3', async () => {
    writeApp('v3', { healthy: false });
    const r = await cli('deploy', '.', '-a', 'shop');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('event Deployment Rolled Back');
    expect(r.stderr).toMatch(/deploy failed and was rolled back: Rollout Failed: the rollout missed its progress deadline \(web: 0\/1 ready after 8s, health check \/health: HTTP 500\)/);
    expect(await get()).toEqual({ status: 200, body: 'hello from v2' });
  }, 120_000);

  it('rolls back to the first release through the Rollback machine', async () => {
    const list = await cli('releases', '-a', 'shop');
    const ids = [...list.stdout.matchAll(/^(R[A-Z]{10})/gm)].map((m) => m[1] as string);
    expect(ids.length).toBe(3);
    const first = ids[ids.length - 1] as string;
    const r = await cli('releases', 'rollback', first, '-a', 'shop');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('event Rollback Succeeded');
    expect(await get()).toEqual({ status: 200, body: 'hello from v1' });
    expect((await cli('apps')).stdout).toMatch(/shop\s+R[A-Z]{10}\s+pinned to R/);
    expect((await cli('apps', 'unpin', 'shop')).code).toBe(0);
  }, 120_000);

  it('comes back consistent after being killed mid-deploy: the serving release is restored and the next deploy proceeds', async () => {
    writeApp('v4', { slowBuild: true });
    const started = await cli('deploy', '.', '-a', 'shop', '--no-wait');
    expect(started.code, started.stderr).toBe(0);
    const deadline = Date.now() + 30_000;
    while (!readFileSync(join(stateDir, 'events.jsonl'), 'utf8').includes('"Build Started"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const before = appPids();
    process.kill(endpoint.pid, 'SIGKILL');
    while (alive(endpoint.pid)) await new Promise((r) => setTimeout(r, 50));
    const restart = await cli('rack', 'start', '--local', '--detach');
    expect(restart.code, restart.stderr).toBe(0);
    endpoint = readEndpoint();
    // The old run's processes are gone; the current release serves again from fresh ones.
    expect(await survivors(before)).toEqual([]);
    const deadline2 = Date.now() + 30_000;
    let answer = await get().catch(() => ({ status: 0, body: '' }));
    while (answer.status !== 200 && Date.now() < deadline2) {
      await new Promise((r) => setTimeout(r, 200));
      answer = await get().catch(() => ({ status: 0, body: '' }));
    }
    expect(answer).toEqual({ status: 200, body: 'hello from v1' });
    writeApp('v5', { worker: 'w2' });
    const next = await cli('deploy', '.', '-a', 'shop');
    expect(next.code, next.stderr).toBe(0);
    expect(await get()).toEqual({ status: 200, body: 'hello from v5' });
  }, 180_000);

  it('stops, leaving no process behind', async () => {
    const pids = appPids();
    expect(pids.length).toBeGreaterThan(0);
    const r = await cli('rack', 'stop');
    expect(r.code).toBe(0);
    expect(await survivors([endpoint.pid, ...pids])).toEqual([]);
    expect((await cli('rack', 'status')).stderr).toMatch(/the local rack is not running/);
  }, 90_000);
});
