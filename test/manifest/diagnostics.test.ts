/**
 * Better than Convox at explaining: every problem names the file, line and column, and says
 * what to do; what Convox silently ignores is reported as a warning.
 */
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../lib/manifest';
import { assertValid, formatDiagnostic, loadManifest, ManifestError } from '../../lib/manifest';

function loadError(text: string, env: Record<string, string> = {}): ManifestError {
  try {
    assertValid(loadManifest(text, { env, file: 'convox.yml' }));
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error('expected the manifest to fail');
}

function warnings(text: string, env: Record<string, string> = {}): Diagnostic[] {
  return [...loadManifest(text, { env, file: 'convox.yml' }).warnings];
}

describe('misspelled keys', () => {
  it('warns about a misspelled top-level key with a suggestion, like Convox keeps loading', () => {
    const [w] = warnings('servicess:\n  web:\n    image: nginx\n');
    expect(w).toMatchObject({ severity: 'warning', code: 'unknown-key', path: 'servicess', location: { file: 'convox.yml', line: 1, column: 1 } });
    expect(w?.message).toContain('did you mean "services"?');
  });

  it('finds misspellings at every depth', () => {
    const found = warnings('services:\n  web:\n    image: nginx\n    enviroment:\n      - A=1\n    scale:\n      cuont: 2\n    helth: /h\n');
    expect(found.map((w) => [w.path, w.location?.line, /did you mean "(\w+)"/.exec(w.message)?.[1]])).toEqual([
      ['services.web.enviroment', 4, 'environment'],
      ['services.web.scale.cuont', 7, 'count'],
      ['services.web.helth', 8, 'health'],
    ]);
  });

  it('suggests the camelCase key for snake_case autoscale keys, which Convox drops', () => {
    const [w] = warnings('services:\n  svc:\n    build: .\n    scale:\n      min: 0\n      max: 5\n      gpu: 1\n      autoscale:\n        gpu_utilization:\n          threshold: 70\n');
    expect(w?.message).toContain('did you mean "gpuUtilization"?');
    expect(w?.location?.line).toBe(9);
  });
});

describe('values of the wrong type', () => {
  it('fails on a string where a number belongs, with Convox\u2019s error and the exact place', () => {
    const e = loadError('services:\n  web:\n    image: nginx\n    timeout: "30"\n');
    expect(e.convoxMessage).toMatch(/^yaml: unmarshal errors:\n {2}line 4: cannot unmarshal !!str `30` into int$/);
    expect(e.diagnostics[0]).toMatchObject({ code: 'wrong-type', path: 'services.web.timeout', location: { line: 4, column: 14 } });
    expect(e.diagnostics[0]?.hint).toContain('without quotes');
  });

  it('warns where Convox silently drops a value of the wrong type', () => {
    const [w] = warnings('services:\n  web:\n    image: nginx\n    scale:\n      cpu: "512"\n');
    expect(w).toMatchObject({ code: 'ignored-value', path: 'services.web.scale.cpu', location: { line: 5, column: 12 } });
    expect(w?.hint).toContain('cpu: 512');
  });

  it('reports Convox\u2019s own decoder errors with their text', () => {
    const e = loadError('services:\n  web:\n    image: nginx\n    environment: FOO=bar\n');
    expect(e.convoxMessage).toBe('unknown type for service environment: string');
    expect(e.diagnostics[0]?.location?.line).toBe(4);
    expect(e.diagnostics[0]?.hint).toContain('- FOO=bar');
  });

  it('explains that YAML 1.1 reads a bare "on" key as a boolean', () => {
    const e = loadError('services:\n  on:\n    image: nginx\n');
    expect(e.convoxMessage).toBe('unknown key type: bool');
    expect(e.diagnostics[0]?.hint).toContain('quote the name');
  });
});

describe('YAML syntax errors', () => {
  it('point at the line, with a caret and a hint about indentation', () => {
    const e = loadError('services:\n  web:\n    build: .\n   port: 3000\n');
    expect(e.convoxMessage).toMatch(/^yaml: line 4: /);
    const text = formatDiagnostic(e.diagnostics[0] as Diagnostic, e.source);
    expect(text).toContain('convox.yml:4:');
    expect(text).toContain('   port: 3000');
    expect(text).toMatch(/\n\s+4 \| {4}port: 3000\n\s+\| +\^/);
    expect(e.diagnostics[0]?.hint).toContain('indentation');
  });

  it('tell the user to quote a cron schedule that starts with *', () => {
    const e = loadError('services:\n  web:\n    image: x\ntimers:\n  t:\n    service: web\n    command: c\n    schedule: */5 * * * *\n');
    expect(e.diagnostics[0]?.location?.line).toBe(8);
    expect(e.diagnostics[0]?.hint).toContain('"*/5 * * * *"');
  });
});

describe('validation errors', () => {
  it('keep Convox\u2019s text and order, and locate each line', () => {
    const e = loadError('services:\n  Web:\n    image: x\n    deployment:\n      minimum: 150\n    resources:\n      - db\n');
    expect(e.stage).toBe('validate');
    expect(e.convoxMessage).toBe(
      'validation errors:\nservice name Web invalid, must contain only lowercase alphanumeric and dashes\nservice Web deployment minimum can not be greater than 100\nservice Web references a resource that does not exist: db',
    );
    expect(e.diagnostics.map((d) => d.location?.line)).toEqual([2, 5, 7]);
    expect(e.diagnostics[0]?.hint).toContain('"web"');
  });

  it('locate a missing required variable at the service that needs it', () => {
    const e = loadError('services:\n  web:\n    image: x\n    environment:\n      - TOKEN\n');
    expect(e.convoxMessage).toBe('required env: TOKEN');
    expect(e.diagnostics[0]).toMatchObject({ code: 'missing-env', location: { line: 4 } });
  });
});

describe('interpolation', () => {
  it('points into the file as written, not the interpolated text', () => {
    const text = 'services:\n  web:\n    image: ${REGISTRY}/web\n    command: ${CMD}\n    timeout: abc\n';
    const e = loadError(text, { REGISTRY: 'registry.example.com:5000/team', CMD: 'run' });
    expect(e.diagnostics[0]).toMatchObject({ path: 'services.web.timeout', location: { line: 5, column: 14 } });
  });

  it('warns when a ${VAR} is unset and becomes an empty string', () => {
    const [w] = warnings('services:\n  web:\n    image: nginx-${TAG}\n');
    expect(w?.message).toContain('${TAG} is not set');
    expect(w?.location).toMatchObject({ line: 3, column: 18 });
  });

  it('blames the unset variable when its empty value breaks the YAML, as Convox fails there too', () => {
    const e = loadError('services:\n  web:\n    image: nginx:${TAG}\n');
    expect(e.convoxMessage).toMatch(/^yaml: line 3: /);
    expect(e.diagnostics[0]?.hint).toContain('${TAG} is not set');
  });
});

describe('merge keys', () => {
  it('warn that Convox drops an unquoted << inside a service', () => {
    const text = 'x-defaults: &defaults\n  image: nginx\nservices:\n  web:\n    <<: *defaults\n    port: 80\n';
    const found = warnings(text).filter((w) => w.message.includes('merge key'));
    expect(found).toHaveLength(1);
    expect(found[0]?.location?.line).toBe(5);
  });
});
