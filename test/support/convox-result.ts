/**
 * Runs our manifest engine the way Convox's conformance results were produced (Load, then
 * Validate) and compares the outcome with Convox's, following the rules of
 * shared/conformance/convox/README.md.
 */
import { agents, assertValid, environmentDefaults, environmentKeys, loadManifest, ManifestError, manifestToJson, resolveServiceEnvironment, resourceLinks } from '../../lib/manifest';

export interface ConvoxResult {
  loadError: string | null;
  validateError: string | null;
  stderr?: string;
  manifest?: Record<string, unknown>;
  derived?: Record<string, unknown>;
}

export function runLikeConvox(text: string, env: Record<string, string>, file = 'convox.yml'): ConvoxResult {
  let loaded;
  try {
    loaded = loadManifest(text, { env, file });
  } catch (e) {
    if (e instanceof ManifestError) return { loadError: e.convoxMessage, validateError: null };
    throw e;
  }
  const m = loaded.manifest;
  const derived = {
    agents: agents(m),
    env: loaded.env,
    environmentDefaults: Object.fromEntries(m.services.map((s) => [s.name, environmentDefaults(s.environment)])),
    environmentKeys: Object.fromEntries(m.services.map((s) => [s.name, environmentKeys(s.environment)])),
    serviceEnvironment: Object.fromEntries(m.services.map((s) => [s.name, resolveServiceEnvironment(s.environment, loaded.env).values])),
    serviceResourceEnv: Object.fromEntries(m.services.filter((s) => s.resources.length > 0).map((s) => [s.name, resourceLinks(s)])),
  };
  let validateError: string | null = null;
  let stderr = '';
  try {
    const report = assertValid(loaded);
    stderr = report.warnings.map((w) => `${w.message}\n`).join('');
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    validateError = e.convoxMessage;
    stderr = e.warnings.filter((w) => w.code === 'convox-rule').map((w) => `${w.message}\n`).join('');
  }
  return { loadError: null, validateError, ...(stderr ? { stderr } : {}), manifest: manifestToJson(m), derived };
}

const isZero = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === false ||
  v === 0 ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

/** Lists Convox builds from Go maps come out in random order; compare them sorted. */
const UNORDERED = /(^|\.)(annotations|ingressAnnotations)$|\.targets\.custom$/;

function sortedForCompare(list: unknown[]): unknown[] {
  return [...list].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

/** Field-by-field differences; absent on one side and zero/empty/false/null on the other count as equal. */
export function differences(ours: unknown, theirs: unknown, path = '', out: string[] = []): string[] {
  if (isZero(ours) && isZero(theirs)) return out;
  if (Array.isArray(ours) && Array.isArray(theirs) && UNORDERED.test(path)) {
    return differences(sortedForCompare(ours), sortedForCompare(theirs), `${path}(unordered)`, out);
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) out.push(`${path}: ${ours.length} items, Convox has ${theirs.length}`);
    else ours.forEach((x, i) => differences(x, theirs[i], `${path}[${i}]`, out));
    return out;
  }
  if (ours && theirs && typeof ours === 'object' && typeof theirs === 'object' && !Array.isArray(ours) && !Array.isArray(theirs)) {
    const a = ours as Record<string, unknown>;
    const b = theirs as Record<string, unknown>;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], path === '' ? k : `${path}.${k}`, out);
    return out;
  }
  if (ours !== theirs) out.push(`${path}: ours ${JSON.stringify(ours)}, Convox ${JSON.stringify(theirs)}`);
  return out;
}

/** Messages from Go libraries are compared only up to the library's part (README rule 2 and 3). */
function sameError(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  if (theirs.startsWith('failed to unmarshal annotations: yaml:')) return ours.startsWith('failed to unmarshal annotations');
  if (theirs.startsWith('yaml:') || theirs.startsWith('strconv.') || theirs.startsWith('error unmarshaling JSON') || theirs.startsWith('error converting YAML')) return true;
  const prefix = (s: string): string => s.split(/: (?=map\[|\[|%!|parse |quantities|unable)/)[0] ?? s;
  return prefix(ours) === prefix(theirs) || ours.startsWith(prefix(theirs));
}

function lines(validateError: string): string[] {
  return validateError.split('\n').slice(1);
}

export interface CaseComparison {
  readonly outcome: string[];
  readonly fields: string[];
  readonly extras: string[];
}

export function compareWithConvox(ours: ConvoxResult, theirs: ConvoxResult): CaseComparison {
  const outcome: string[] = [];
  const fields: string[] = [];
  const extras: string[] = [];
  if (theirs.loadError !== null) {
    if (ours.loadError === null) outcome.push(`Convox fails to load (${theirs.loadError}); we load`);
    else if (!sameError(ours.loadError, theirs.loadError)) outcome.push(`load error differs: ours ${JSON.stringify(ours.loadError)}, Convox ${JSON.stringify(theirs.loadError)}`);
    return { outcome, fields, extras };
  }
  if (ours.loadError !== null) {
    outcome.push(`we fail to load (${ours.loadError}); Convox loads`);
    return { outcome, fields, extras };
  }
  if (theirs.validateError !== null) {
    if (ours.validateError === null) outcome.push(`Convox finds validation errors (${theirs.validateError}); we find none`);
    else {
      const a = lines(ours.validateError);
      const b = lines(theirs.validateError);
      const missing = b.filter((l) => !a.some((x) => sameError(x, l)));
      const extra = a.filter((l) => !b.some((x) => sameError(l, x)));
      if (missing.length || extra.length) outcome.push(`validation lines differ: missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}`);
    }
  } else if (ours.validateError !== null) outcome.push(`we find validation errors (${ours.validateError}); Convox finds none`);
  if (theirs.manifest) fields.push(...differences(ours.manifest, theirs.manifest));
  if ((ours.stderr ?? '') !== (theirs.stderr ?? '')) extras.push(`stderr: ours ${JSON.stringify(ours.stderr ?? '')}, Convox ${JSON.stringify(theirs.stderr ?? '')}`);
  if (theirs.derived) extras.push(...differences(ours.derived, theirs.derived, 'derived'));
  return { outcome, fields, extras };
}
