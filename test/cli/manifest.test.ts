/** `slipway manifest validate|show` run as a user runs them: the real command in a child process. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, runCliMany } from '../support/cli';
import { compareWithConvox } from '../support/convox-result';
import type { ConvoxResult } from '../support/convox-result';
import { conformanceDir, FIXTURES } from '../support/paths';

const work = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
function manifest(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

describe('slipway manifest validate', () => {
  it('exits 0 and summarises a valid manifest', async () => {
    const r = await runCli(['manifest', 'validate', '-f', join(FIXTURES, 'guide/01-minimal.yml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/01-minimal\.yml is valid: 1 service, 1 resource, 0 timers\n$/);
    expect(r.stderr).toBe('');
  });

  it('exits 1 on validation errors: Convox\u2019s text first, then each problem located', async () => {
    const file = manifest('invalid.yml', 'services:\n  web:\n    image: nginx\n    resources:\n      - db\n    deployment:\n      maximum: 300\n');
    const r = await runCli(['manifest', 'validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith('validation errors:\nservice web deployment maximum can not be greater than 200\nservice web references a resource that does not exist: db\n')).toBe(true);
    expect(r.stderr).toContain('invalid.yml:7:7: error: service web deployment maximum can not be greater than 200');
    expect(r.stderr).toContain('invalid.yml:5:9: error: service web references a resource that does not exist: db');
    expect(r.stderr).toMatch(/invalid\.yml: 2 errors\n$/);
  });

  it('names the line of a misspelled key and suggests the right one', async () => {
    const file = manifest('typo.yml', 'services:\n  web:\n    image: nginx\n    heatlh: /health\n');
    const r = await runCli(['manifest', 'validate', '-f', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('typo.yml:4:5: warning: unknown key "heatlh" in services.web is ignored (Convox ignores it too); did you mean "health"?');
    expect(r.stderr).toContain('hint: rename "heatlh" to "health"');
  });

  it('names the line of a string where a number belongs and says to drop the quotes', async () => {
    const file = manifest('quoted.yml', 'services:\n  web:\n    image: nginx\n    drain: "10"\n');
    const r = await runCli(['manifest', 'validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `10` into int');
    expect(r.stderr).toContain('quoted.yml:4:12: error: services.web.drain: expected an integer, got the string "10"');
    expect(r.stderr).toContain('hint: write the number without quotes');
  });

  it('shows a broken indentation with the line, a caret and what to fix', async () => {
    const file = manifest('indent.yml', 'services:\n  web:\n    image: nginx\n   port: 80\n');
    const r = await runCli(['manifest', 'validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^yaml: line 4: /);
    expect(r.stderr).toMatch(/indent\.yml:4:4: error: YAML syntax error: .+\n\s+4 \| {4}port: 80\n\s+\| {4}\^/);
    expect(r.stderr).toContain('check the indentation');
  });

  it('takes the app environment from -e and --env-file', async () => {
    const file = join(FIXTURES, 'guide/11-ecommerce.yml');
    const missing = await runCli(['manifest', 'validate', '-f', file]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')[0]).toBe('required env: PAYMENT_ENCRYPTION_KEY, STRIPE_KEY');
    const envFile = manifest('app.env', '# payments\nexport STRIPE_KEY="sk_test_1"\n');
    const ok = await runCli(['manifest', 'validate', '-f', file, '--env-file', envFile, '-e', 'PAYMENT_ENCRYPTION_KEY=k']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('is valid: 4 services, 1 resource, 0 timers');
  });

  it('never prints environment values', async () => {
    const file = manifest('secret.yml', 'services:\n  web:\n    image: nginx\n    environment:\n      - API_KEY\n      - MISSING\n    timeout: abc\n');
    const r = await runCli(['manifest', 'validate', '-f', file, '-e', 'API_KEY=s3cr3t-value']);
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).not.toContain('s3cr3t-value');
  });

  it('says clearly when the file does not exist', async () => {
    const r = await runCli(['manifest', 'validate', '-f', join(work, 'nope.yml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nope.yml: no such file');
  });
});

describe('slipway manifest show', () => {
  it('prints the normalised manifest as YAML, or as JSON with --json', async () => {
    const file = join(FIXTURES, 'guide/09-timer.yml');
    const yaml = await runCli(['manifest', 'show', file]);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toContain('schedule: 0 3 * * *');
    const json = await runCli(['manifest', 'show', file, '--json']);
    const parsed = JSON.parse(json.stdout) as { services: { name: string; scale: unknown }[]; timers: unknown[] };
    expect(parsed.services[0]).toMatchObject({ name: 'worker', command: 'bin/worker', port: null, scale: { count: { min: 1, max: 1 }, cpu: 250, memory: 512 } });
    expect(parsed.timers).toEqual([{ name: 'cleanup', schedule: '0 3 * * *', command: 'bin/cleanup', service: 'worker' }]);
  });

  const { dir, found } = conformanceDir();
  it.skipIf(!found)(`gives Convox\u2019s results on every public fixture (${found ? dir : 'fixtures not found; set SLIPWAY_CONFORMANCE_DIR'})`, async () => {
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { cases: (ConvoxResult & { env: Record<string, string> })[] }>;
    const runs = Object.entries(expected)
      .filter(([file]) => file !== '_meta')
      .flatMap(([file, entry]) => entry.cases.map((c) => ({ file, c })));
    const results = await runCliMany(runs, ({ file, c }) => ['manifest', 'show', join(dir, file), '--json', ...Object.entries(c.env).flatMap(([k, v]) => ['-e', `${k}=${v}`])]);
    const problems: string[] = [];
    runs.forEach(({ file, c }, i) => {
      const r = results[i];
      if (!r) return;
      if (c.loadError !== null || c.validateError !== null) {
        const wanted = c.loadError ?? c.validateError ?? '';
        const head = wanted.startsWith('yaml:') ? 'yaml:' : wanted.split(/: (?=map\[|\[|%!|parse )/)[0] ?? wanted;
        if (r.code !== 1 || !r.stderr.includes(head)) problems.push(`${file}: expected exit 1 with ${JSON.stringify(head)}, got ${r.code}: ${r.stderr.slice(0, 200)}`);
        for (const line of (c.validateError ?? '').split('\n').slice(1)) {
          const prefix = line.split(/: (?=parse )/)[0] ?? line;
          if (!r.stderr.includes(prefix)) problems.push(`${file}: stderr lacks ${JSON.stringify(line)}`);
        }
        return;
      }
      if (r.code !== 0) {
        problems.push(`${file}: exit ${r.code}: ${r.stderr.slice(0, 200)}`);
        return;
      }
      const diff = compareWithConvox({ loadError: null, validateError: null, manifest: JSON.parse(r.stdout) as Record<string, unknown> }, { ...c, derived: undefined, stderr: undefined });
      problems.push(...[...diff.outcome, ...diff.fields].map((d) => `${file}: ${d}`));
    });
    expect(problems).toEqual([]);
  }, 240_000);
});
