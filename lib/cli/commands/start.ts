/**
 * `slipway start [dir]`: the local rack's entry point. It reads and validates the app's
 * convox.yml, prints the plan the deploy pipeline follows for it (the images to build, the
 * resources and the variables they link, the rollout, the gates, the timers), then runs it.
 */
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest, Service } from '../../manifest';
import { buildHash, resourceLinks } from '../../manifest';
import { randomBytes } from 'node:crypto';
import { packDirectory } from '../../pipeline/bundle/pack';
import { RackClient } from '../../local/rack/client';
import type { CliIO } from '../io';
import { CommandFailed } from '../io';
import { runRack } from './rack';
import { loadValidated } from './manifest';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLE_APP = join(PACKAGE_ROOT, 'examples', 'ecommerce');

function pad(s: string, n: number): string {
  return s.length >= n ? `${s}  ` : s + ' '.repeat(n - s.length);
}

function processes(s: Service): string {
  const { min, max } = s.scale.count;
  const n = min === max ? `${min}` : `${min}-${max}`;
  return `${n} process${min === max && min === 1 ? '' : 'es'}`;
}

/** Services grouped by build hash: each group is one image build. */
export function buildGroups(m: Manifest): Service[][] {
  const groups = new Map<string, Service[]>();
  for (const s of m.services) {
    const hash = buildHash(s, '');
    groups.set(hash, [...(groups.get(hash) ?? []), s]);
  }
  return [...groups.values()];
}

export function describePlan(m: Manifest, app: string): string[] {
  const out: string[] = [];
  const width = Math.max(8, ...m.services.map((s) => s.name.length + 2), ...m.resources.map((r) => r.name.length + 2), ...m.timers.map((t) => t.name.length + 2));
  const groups = buildGroups(m);
  const builds = groups.filter((g) => (g[0]?.image ?? '') === '');
  const pulls = groups.filter((g) => (g[0]?.image ?? '') !== '');
  let step = 1;
  out.push(`  ${step++}. validate the bundle and take the app's deploy lock`);
  out.push(`  ${step++}. build ${builds.length} image${builds.length === 1 ? '' : 's'}${pulls.length ? `, pull ${pulls.length}` : ''}`);
  for (const g of groups) {
    const s = g[0] as Service;
    const what = s.image !== '' ? `pull ${s.image}` : `${s.build.path}/${s.build.manifest}`.replace(/^\.\//, '');
    out.push(`       ${pad(g.map((x) => x.name).join(', '), width)}${what}`);
  }
  if (m.resources.length > 0) {
    out.push(`  ${step++}. provision ${m.resources.length} resource${m.resources.length === 1 ? '' : 's'}`);
    for (const r of m.resources) {
      const users = m.services.filter((s) => resourceLinks(s).some((l) => l.resource === r.name));
      const vars = [...new Set(users.flatMap((s) => resourceLinks(s).filter((l) => l.resource === r.name).map((l) => l.env)))];
      out.push(`       ${pad(r.name, width)}${pad(r.type, 12)}${users.length ? `${vars.join(', ')} into ${users.map((s) => s.name).join(', ')}` : 'not linked to any service'}`);
    }
  }
  out.push(`  ${step++}. roll out ${m.services.length} service${m.services.length === 1 ? '' : 's'} with rolling updates`);
  for (const s of m.services) {
    const port = s.port ? `${s.port.scheme} :${s.port.port}` : 'no port';
    const route = !s.port ? 'worker' : s.internal ? `internal: ${s.name}.${app}.convox.local:${s.port.port}` : `public: ${s.domain[0] ?? `${s.name}.${app}.localhost`}`;
    out.push(`       ${pad(s.name, width)}${pad(processes(s), 14)}${pad(port, 12)}${pad(s.port ? `health ${s.health.path}` : '', 16)}${route}`);
  }
  out.push(`  ${step++}. gate on health (every routable service answers its health path, no restarts), then promote`);
  out.push(`     or roll back to the previous release if a gate fails`);
  if (m.timers.length > 0) {
    out.push(`  ${step++}. schedule ${m.timers.length} timer${m.timers.length === 1 ? '' : 's'} (UTC)`);
    for (const t of m.timers) out.push(`       ${pad(t.name, width)}${pad(JSON.stringify(t.schedule), 16)}${t.command}  on ${t.service}`);
  }
  return out;
}

/** Values the bundled example needs that a new user has no reason to know: a test key and a fresh encryption key. */
function exampleEnv(): Record<string, string> {
  return { STRIPE_KEY: 'sk_test_slipway_local_demo', PAYMENT_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
}

export interface StartOptions {
  readonly dir?: string | undefined;
  readonly app?: string | undefined;
  readonly env?: string[];
  readonly stateDir: string;
  readonly port?: number | undefined;
  /** Only print the plan. */
  readonly plan?: boolean;
}

/**
 * `slipway start [dir]` (what `npm start` runs): start the local rack in the foreground, deploy
 * the app through the pipeline, print where it is served, and follow its logs until Ctrl-C,
 * which stops the rack and everything it started.
 */
export async function startCommand(io: CliIO, options: StartOptions): Promise<void> {
  const dir = options.dir ? resolve(io.cwd, options.dir) : EXAMPLE_APP;
  const app = options.app ?? basename(dir);
  const file = join(dir, 'convox.yml');
  const given = parseEnvPairs(options.env ?? []);
  const example = dir === EXAMPLE_APP ? exampleEnv() : {};
  const loaded = loadValidated(io, { file: relative(io.cwd, file) || file, env: Object.entries({ ...example, ...given }).map(([k, v]) => `${k}=${v}`) });
  io.stdout.write(`Slipway local rack: app ${app} (${relative(io.cwd, dir) || '.'})\n\n`);
  io.stdout.write(`The deploy pipeline runs these steps for it:\n${describePlan(loaded.manifest, app).join('\n')}\n\n`);
  if (options.plan) return;
  if (await RackClient.connect(options.stateDir).catch(() => undefined)) {
    io.stderr.write(`a local rack already runs on ${options.stateDir}; deploy to it with: slipway deploy ${relative(io.cwd, dir) || '.'} --app ${app}\n`);
    throw new CommandFailed(1);
  }
  const running = await runRack(io, { stateDir: options.stateDir, ...(options.port !== undefined ? { routerPort: options.port } : {}) });
  const { rack } = running;
  try {
    if (!(await rack.store.getApp(app))) await rack.createApp(app);
    const current = (await rack.env.current(app)).values;
    const missing = Object.fromEntries(Object.entries(example).filter(([k]) => !(k in current)));
    if (Object.keys(missing).length > 0 || Object.keys(given).length > 0) await rack.changeEnv(app, { set: { ...missing, ...given } });
    const { bundle, files } = await packDirectory(dir);
    const { execution } = await rack.deploy(app, bundle);
    io.stdout.write(`deploying ${app}: ${files} files packed, deploy ${execution}\n`);
    const outcome = await rack.outcome('Deploy', execution);
    if (outcome?.status !== 'SUCCEEDED') {
      io.stderr.write(`\nthe deploy of ${app} failed${outcome?.status === 'FAILED' ? ` (${outcome.error}: ${outcome.cause})` : ''}; the events above say why\n`);
      await running.stop();
      throw new CommandFailed(1);
    }
  } catch (e) {
    await running.stop();
    throw e;
  }
  const urls = rack.urls(app);
  io.stdout.write(`\n${app} is running (release ${(await rack.store.requireApp(app)).release ?? '?'}):\n`);
  for (const u of urls) io.stdout.write(u.internal ? `  ${u.service.padEnd(16)}internal: ${u.internalName ?? ''}\n` : `  ${u.service.padEnd(16)}${u.url}\n`);
  io.stdout.write(`\nFollowing its logs; press Ctrl-C to stop the rack and everything it started.\n`);
  await running.stopped;
}

function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at > 0) out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}
