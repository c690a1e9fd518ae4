/**
 * schema/convox.schema.json is generated from the decoder's field tables. It must accept every
 * manifest our engine loads without complaint, flag what the engine warns about, and know every
 * key the engine produces.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { assertValid, loadManifest, ManifestError, manifestToJson } from '../../lib/manifest';
import { generateSchema } from '../../lib/manifest/schema/generate';
import { conformanceDir, FIXTURES, REPO_ROOT } from '../support/paths';
import { yamlToPlain } from '../support/yaml-plain';

const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/convox.schema.json'), 'utf8')) as Record<string, unknown>;
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
const validateSchema = ajv.compile(committed);

interface Sample {
  readonly name: string;
  readonly text: string;
  readonly env: Record<string, string>;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  const add = (dir: string, envOf: (file: string) => Record<string, string>): void => {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yml'))) out.push({ name: `${dir}/${f}`, text: readFileSync(join(dir, f), 'utf8'), env: envOf(f) });
  };
  const corpus = join(FIXTURES, 'corpus');
  add(corpus, (f) => {
    const envFile = join(corpus, f.replace(/\.yml$/, '.env.json'));
    return existsSync(envFile) ? (JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>) : {};
  });
  add(join(FIXTURES, 'guide'), () => ({ NOTIFICATIONS_URL: 'x', STRIPE_KEY: 'x', PAYMENT_ENCRYPTION_KEY: 'x', DATABASE_URL: 'x', API_KEY: 'x', SESSION_SECRET: 'x' }));
  const { dir, found } = conformanceDir();
  if (found) {
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { cases: { env: Record<string, string> }[] }>;
    for (const [file, entry] of Object.entries(expected)) {
      if (file === '_meta') continue;
      for (const c of entry.cases) out.push({ name: `${file} ${JSON.stringify(c.env)}`, text: readFileSync(join(dir, file), 'utf8'), env: c.env });
    }
  }
  return out;
}

/** Warnings about what a schema can see: unknown or miscased keys, values of the wrong type, empty values. */
const SCHEMA_CODES = new Set(['unknown-key', 'ignored-value', 'empty-value', 'key-case']);

/** Samples that load and validate, with the warnings the schema should agree with. */
function loadable(): (Sample & { schemaWarnings: string[]; json: Record<string, unknown> })[] {
  const out = [];
  for (const s of samples()) {
    try {
      const loaded = loadManifest(s.text, { env: s.env });
      assertValid(loaded);
      const schemaWarnings = loaded.warnings.filter((w) => SCHEMA_CODES.has(w.code)).map((w) => w.path ?? '');
      out.push({ ...s, schemaWarnings, json: manifestToJson(loaded.manifest) });
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
    }
  }
  return out;
}

const cases = loadable();

describe('the JSON Schema for convox.yml', () => {
  it('is the one the field tables generate (run `npm run schema:build` after changing them)', () => {
    expect(committed).toEqual(generateSchema());
  });

  it('is a valid draft-07 schema', () => {
    expect(ajv.validateSchema(committed)).toBe(true);
  });

  it('accepts every manifest that loads with no unknown keys or ignored values', () => {
    const clean = cases.filter((c) => c.schemaWarnings.length === 0);
    // Our corpus and the guide alone give over 200; Convox's fixtures add more when present.
    expect(clean.length).toBeGreaterThan(200);
    const rejected: string[] = [];
    for (const c of clean) {
      if (!validateSchema(yamlToPlain(c.text, c.env))) rejected.push(`${c.name}: ${ajv.errorsText(validateSchema.errors)}`);
    }
    expect(rejected).toEqual([]);
  });

  it('rejects every manifest the engine warns has unknown keys or ignored values', () => {
    // Inside scale.autoscale and scale.keda keys match case-insensitively (JSON decoding), which a schema cannot express.
    const flagged = cases.filter((c) => c.schemaWarnings.length > 0 && c.schemaWarnings.every((p) => !p.includes('.autoscale.') && !p.includes('.keda.')));
    expect(flagged.length).toBeGreaterThan(10);
    const accepted = flagged.filter((c) => validateSchema(yamlToPlain(c.text, c.env))).map((c) => `${c.name}: engine warns about ${c.schemaWarnings.join(', ')}`);
    expect(accepted).toEqual([]);
  });

  const { dir, found } = conformanceDir();
  it.skipIf(!found)('rejects Convox\u2019s own "invalid" fixture, whose misspelled key Convox only tolerates', () => {
    // invalid.2.yml writes `servicess:`; Convox ignores the key (TestManifestLoadInvalid), we warn, and the schema
    // flags it: an editor should underline a misspelled section rather than silently deploy nothing.
    expect(validateSchema(yamlToPlain(readFileSync(join(dir, 'invalid.2.yml'), 'utf8')))).toBe(false);
    expect(validateSchema.errors?.[0]).toMatchObject({ keyword: 'additionalProperties', params: { additionalProperty: 'servicess' } });
  });

  it('describes every key the engine produces (types and schema do not drift)', () => {
    const definitions = committed.definitions as Record<string, { properties?: Record<string, unknown> }>;
    const service = Object.keys(definitions.service?.properties ?? {});
    const top = Object.keys((committed as { properties: Record<string, unknown> }).properties);
    const unknown = new Set<string>();
    for (const c of cases) {
      for (const k of Object.keys(c.json)) if (!top.includes(k)) unknown.add(k);
      for (const s of (c.json.services ?? []) as Record<string, unknown>[]) for (const k of Object.keys(s)) if (k !== 'name' && !service.includes(k)) unknown.add(`service.${k}`);
    }
    expect([...unknown]).toEqual([]);
  });
});
