/**
 * `slipway start [dir]`: the local rack's entry point. It reads and validates the app's
 * convox.yml and prints the plan the deploy pipeline follows for it: the images to build (services
 * with the same build settings share one), the resources to provision and the variables they link,
 * the rollout, the health gates, and the timers.
 */
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest, Service } from '../../manifest';
import { buildHash, resourceLinks } from '../../manifest';
import type { CliIO } from '../io';
import { loadValidated } from './manifest';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLE_APP = join(PACKAGE_ROOT, 'examples', 'monolith');

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

export function startCommand(io: CliIO, options: { dir?: string | undefined; env?: string[] }): void {
  const dir = options.dir ? resolve(io.cwd, options.dir) : EXAMPLE_APP;
  const app = basename(dir);
  const file = join(dir, 'convox.yml');
  const loaded = loadValidated(io, { file: relative(io.cwd, file) || file, env: options.env ?? [] });
  io.stdout.write(`Slipway local rack: app ${app} (${relative(io.cwd, dir) || '.'})\n\n`);
  io.stdout.write(`The deploy pipeline runs these steps for it:\n${describePlan(loaded.manifest, app).join('\n')}\n\n`);
  io.stdout.write('This version plans the deploy; running it on this machine (builds, local databases, processes and the URLs they are served at) comes with the local rack.\n');
}
