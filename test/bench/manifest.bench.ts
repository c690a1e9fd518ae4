/**
 * The manifest engine: `loadManifest` then `assertValid`, on generated manifests of 10, 100 and
 * 1,000 services (with a per-service cost each, so that growth shows) and on the guide's
 * e-commerce manifest, the size most apps have.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assertValid, loadManifest } from '../../lib/manifest';
import type { BenchSuite, Figure } from './harness';
import { figure, median, sample } from './harness';

/** A large but realistic manifest: n services in every common form, with resources and timers. */
export function generateManifest(services: number): string {
  const lines: string[] = ['environment:', '  - NODE_ENV=production', '  - LOG_LEVEL=info', 'resources:'];
  const resources = Math.max(1, Math.floor(services / 20));
  for (let r = 0; r < resources; r++) lines.push(`  db-${r}:`, `    type: ${r % 2 === 0 ? 'postgres' : 'redis'}`, '    options:', '      storage: 20');
  lines.push('services:');
  for (let i = 0; i < services; i++) {
    lines.push(`  svc-${i}:`);
    lines.push(i % 3 === 0 ? `    image: registry.example.com/svc-${i}:1.0` : `    build: ./services/svc-${i}`);
    lines.push(`    port: ${3000 + (i % 1000)}`);
    lines.push(i % 2 === 0 ? '    health: /health' : '    health:\n      path: /ready\n      interval: 10');
    lines.push('    environment:', `      - SERVICE_INDEX=${i}`, '      - SHARED_SECRET');
    lines.push('    resources:', `      - db-${i % resources}`);
    if (i % 4 === 0) lines.push('    internal: true');
    if (i % 5 === 0) lines.push('    scale:', '      count: 2-10', '      cpu: 512', '      memory: 1024', '      targets:', '        cpu: 70');
    else lines.push('    scale:', `      count: ${1 + (i % 3)}`);
    if (i % 7 === 0) lines.push('    deployment:', '      minimum: 100', '      maximum: 150');
    if (i % 11 === 0) lines.push('    labels:', '      team: payments', '    annotations:', '      - prometheus.io/scrape=true');
  }
  lines.push('timers:');
  for (let t = 0; t < Math.floor(services / 10); t++) lines.push(`  job-${t}:`, '    schedule: "*/15 * * * ?"', `    command: bin/job ${t}`, `    service: svc-${t}`);
  return `${lines.join('\n')}\n`;
}

/** Each generated service lists `SHARED_SECRET` as required; the app environment supplies it. */
const GENERATED_ENV = { SHARED_SECRET: 'x' };

/** Its required keys, as `test/manifest/guide.test.ts` supplies them. */
const ECOMMERCE_ENV = { STRIPE_KEY: 'sk_test_x', PAYMENT_ENCRYPTION_KEY: 'k' };

/** Fewer runs for the larger manifests: each size takes about 2 to 6 s at its default. */
const SIZES: readonly { services: number; runs: number }[] = [
  { services: 10, runs: 200 },
  { services: 100, runs: 40 },
  { services: 1000, runs: 15 },
];

function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function loadAndValidate(text: string, env: Record<string, string>): void {
  assertValid(loadManifest(text, { env }));
}

export const manifestSuite: BenchSuite = {
  name: 'manifest',
  description: 'loadManifest + assertValid on generated manifests of 10, 100 and 1,000 services and on the guide\u2019s e-commerce manifest',
  async run(ctx) {
    const figures: Figure[] = [];
    const perService: { services: number; ms: number }[] = [];
    for (const { services, runs } of SIZES) {
      const text = generateManifest(services);
      const lines = text.split('\n').length - 1;
      const n = ctx.runs(runs);
      ctx.progress(`manifest: ${services} services (${lines} lines), ${n} runs`);
      const samples = await sample(n, () => loadAndValidate(text, GENERATED_ENV));
      const label = services.toLocaleString('en-US');
      figures.push(figure(`manifest: load + validate, ${label} services`, 'ms', samples, `one loadManifest + assertValid of a generated convox.yml: ${count(services, 'service')}, ${count(Math.max(1, Math.floor(services / 20)), 'resource')}, ${count(Math.floor(services / 10), 'timer')}, ${count(lines, 'line')}`));
      const per = samples.map((ms) => ms / services);
      const previous = perService.at(-1);
      const growth = previous ? `; ${(median(per) / previous.ms).toFixed(2)}\u00d7 the per-service cost at ${previous.services.toLocaleString('en-US')} services (1.00\u00d7 would be linear)` : '';
      figures.push(figure(`manifest: load + validate, ${label} services, per service`, 'ms', per, `the same runs divided by ${label}${growth}`));
      perService.push({ services, ms: median(per) });
    }

    const guide = readFileSync(fileURLToPath(new URL('../fixtures/guide/11-ecommerce.yml', import.meta.url)), 'utf8');
    const n = ctx.runs(300);
    ctx.progress(`manifest: the guide\u2019s e-commerce manifest, ${n} runs`);
    const samples = await sample(n, () => loadAndValidate(guide, ECOMMERCE_ENV));
    figures.push(figure('manifest: load + validate, the guide\u2019s e-commerce app', 'ms', samples, 'the same on test/fixtures/guide/11-ecommerce.yml: 4 services and a redis resource'));
    return figures;
  },
};
