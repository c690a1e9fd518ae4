/** Manifest engine benchmarks. */
import { assertValid, loadManifest } from '../../lib/manifest';
import type { Benchmark } from './harness';

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

export const manifestBenchmarks: Benchmark[] = [
  {
    name: 'manifest: load + validate, 1,000 services',
    description: 'loadManifest then assertValid on a generated convox.yml with 1,000 services, 50 resources and 100 timers',
    iterations: 15,
    setup: () => generateManifest(1000),
    run: (text) => {
      const loaded = loadManifest(text as string, { env: { SHARED_SECRET: 'x' } });
      assertValid(loaded);
    },
  },
  {
    name: 'manifest: load + validate, the guide\u2019s e-commerce app',
    description: 'the same on a 4-service manifest, the size most apps have',
    iterations: 500,
    setup: () =>
      'services:\n  web:\n    build: .\n    port: 3000\n    environment:\n      - EMAIL_SERVICE_URL=http://email.ecommerce.convox.local:4000\n  email:\n    build: ./services/email\n    port: 4000\n    internal: true\n    resources:\n      - queue\n  inventory:\n    build: ./services/inventory\n    port: 5000\n    internal: true\n    scale:\n      count: 2-10\n      targets:\n        cpu: 60\n  payments:\n    build: ./services/payments\n    port: 6000\n    internal: true\n    health:\n      path: /health\n      timeout: 10\n    scale:\n      cpu: 1024\n      memory: 2048\nresources:\n  queue:\n    type: redis\n',
    run: (text) => {
      assertValid(loadManifest(text as string));
    },
  },
];
