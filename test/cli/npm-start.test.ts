/**
 * `npm start`, as a new user runs it: the local rack comes up in the foreground, deploys the
 * e-commerce example (five services built from their Dockerfiles, real PostgreSQL and Redis),
 * prints its URLs, and every printed URL answers. Ctrl-C (SIGINT to the process group, as a
 * terminal sends it) stops everything: no process of the rack or the app is left.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resourceBase } from '../../lib/local/rack/local-rack';
import { REPO_ROOT } from '../support/paths';
import { getVia } from '../support/router-get';

/** `*.localhost` resolves to loopback, but the test sends the Host header itself. */
const get = (url: string, path = '/'): Promise<{ status: number; body: string }> => getVia(Number(new URL(url).port), new URL(url).hostname, path);

/** Every process whose command line mentions the folder. */
function processesUsing(folder: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(folder) && !/^\s*\d+\s+Z/.test(l) && !l.includes('ps -eo'));
}

describe('npm start (the e-commerce example on the local rack, real builds, PostgreSQL, Redis and processes)', () => {
  it('deploys the example, every printed URL answers, and Ctrl-C leaves nothing running', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'slipway-npm-start-')), 'state');
    const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env: { ...process.env, SLIPWAY_STATE_DIR: stateDir, NO_COLOR: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = Date.now() + 240_000;
      while (!/Following its logs/.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 250));
      expect(stdout, stderr).toMatch(/ecommerce is running \(release R[A-Z]{10}\)/);
      const urls = [...stdout.matchAll(/^ {2}(\S+)\s+(http:\/\/\S+)$/gm)].map((m) => ({ service: m[1] as string, url: m[2] as string }));
      expect(urls.map((u) => u.service)).toEqual(['web']);
      expect(stdout).toMatch(/notifications\s+internal: notifications\.ecommerce\.convox\.local:4000/);
      for (const { url } of urls) expect((await get(url)).status).toBe(200);
      const web = urls[0]?.url ?? '';
      const products = await get(web, '/api/products');
      expect(products.status).toBe(200);
      expect(JSON.parse(products.body)).toEqual(expect.anything());
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGINT');
    }
    // npm itself ends by the signal, as it does at a terminal; the rack says it stopped.
    expect(await exited).toEqual(expect.objectContaining({ code: null, signal: 'SIGINT' }));
    expect(stdout).toContain('stopping the local rack');
    // npm may end before the rack has finished stopping: give it the time a stop takes.
    const deadline = Date.now() + 60_000;
    const left = (): string[] => [...processesUsing(stateDir), ...processesUsing(resourceBase(stateDir))];
    while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(left()).toEqual([]);
    const pids = JSON.parse(readFileSync(join(stateDir, 'runtime', 'pids.json'), 'utf8')) as number[];
    expect(pids).toEqual([]);
  }, 300_000);
});
