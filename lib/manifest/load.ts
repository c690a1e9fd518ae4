/**
 * Loading a convox.yml: interpolate `${VAR}`, parse YAML 1.1, decode with Convox's rules, fill
 * defaults, resolve the environment and labels. The steps and their order are Convox's `Load`;
 * every failure also carries the file, line and column it comes from.
 */
import { scanAttributes } from './attributes';
import type { Attributes } from './attributes';
import { DecodeAbort, DecodeSession } from './decode/session';
import { decodeValue } from './decode/codec';
import { applyCompatibility, applyDefaults, DefaultsError } from './defaults';
import type { Diagnostic } from './diagnostics';
import { ManifestError, ManifestSource } from './diagnostics';
import { combineEnvironment } from './environment';
import type { Env } from './environment';
import { manifestFields } from './fields/manifest';
import type { DecodedManifest } from './fields/manifest';
import { combineLabels } from './labels';
import { MAX_MANIFEST_BYTES } from './limits';
import { interpolate, InterpolationTooLarge } from './source/interpolate';
import type { Interpolated } from './source/interpolate';
import type { Manifest } from './types';
import { composeYaml } from './yaml/compose';

export interface LoadOptions {
  /** The app environment: interpolates `${VAR}` and satisfies required keys. */
  readonly env?: Env;
  /** Name shown in diagnostics. */
  readonly file?: string;
}

export interface LoadedManifest {
  readonly manifest: Manifest;
  /** The app environment filtered to the keys some service uses (Convox's internal env map). */
  readonly env: Record<string, string>;
  readonly warnings: readonly Diagnostic[];
  readonly source: ManifestSource;
  /** Where each key was written, by dotted path (e.g. `services.web.scale.count`). */
  readonly positions: ReadonlyMap<string, number>;
  readonly attributes: Attributes;
}

export function loadManifest(text: string, options: LoadOptions = {}): LoadedManifest {
  const env = options.env ?? {};
  const file = options.file ?? 'convox.yml';
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_MANIFEST_BYTES) {
    // Point at where the limit is passed: the file is too large from that line on.
    const at = Buffer.from(text, 'utf8').subarray(0, MAX_MANIFEST_BYTES).toString('utf8').length;
    throw tooLarge(file, text, at, `the manifest is ${size} bytes, more than the limit of ${MAX_MANIFEST_BYTES} bytes`, 'a convox.yml this large is not one Slipway deploys; check that it is the right file');
  }
  let interpolated: Interpolated;
  try {
    interpolated = interpolate(text, env, MAX_MANIFEST_BYTES);
  } catch (e) {
    if (!(e instanceof InterpolationTooLarge)) throw e;
    throw tooLarge(
      file,
      text,
      e.originalStart,
      `substituting \${${e.variable}} from the app environment makes the manifest longer than the limit of ${MAX_MANIFEST_BYTES} characters`,
      `check the value of ${e.variable}, and how often the manifest uses it`,
    );
  }
  const source = new ManifestSource(file, text, interpolated);
  const session = new DecodeSession(source);
  const root = { session, path: '' };

  for (const s of interpolated.substitutions) {
    if (!s.defined) {
      session.warn(
        'suspicious',
        s.start,
        '',
        `\${${s.name}} is not set in the app environment, so it is replaced by an empty string`,
        `set it with -e ${s.name}=... (or in the app environment); Convox has no default syntax inside \${...}`,
      );
    }
  }

  const composed = composeYaml(interpolated.text);
  for (const w of composed.warnings) session.warn('suspicious', w.pos, '', w.message);
  if (composed.errors.length > 0) {
    const first = composed.errors[0];
    const line = first ? source.locate(first.pos).line : 1;
    const diagnostics: Diagnostic[] = composed.errors.map((e) => {
      const at = source.locate(e.pos);
      // Errors about indentation are reported at the start of the line; point at its first character.
      const indent = /^[ \t]*/.exec(source.lineText(at.line))?.[0].length ?? 0;
      const location = at.column <= indent ? { ...at, column: indent + 1 } : at;
      // An unset ${VAR} becomes "", which can break the YAML (`image: app:${TAG}` ends in a colon).
      const emptied = interpolated.substitutions.find((s) => !s.defined && source.locate(s.start).line === location.line);
      const hint = emptied ? `\${${emptied.name}} is not set, and the empty string it became broke the YAML on this line; set it, or quote the value` : syntaxHint(e.code);
      return { severity: 'error', code: 'yaml-syntax', message: `YAML syntax error: ${e.message}`, location, ...(hint ? { hint } : {}) };
    });
    throw new ManifestError('load', `yaml: line ${line}: ${first?.message ?? 'syntax error'}`, diagnostics, warningsOf(session), source);
  }

  const document = composed.value;
  if (document.kind === 'null') session.warn('empty-value', 0, '', 'the manifest is empty: it declares no services, so a deploy would run nothing', 'add a services: section');
  let decoded: DecodedManifest = {};
  try {
    if (document.kind === 'map' || document.kind === 'null') {
      decoded = decodeValue(manifestFields, document, root, undefined) ?? {};
    } else {
      session.typeError(document, '', 'manifest.Manifest', 'a map with services, resources, timers and other sections');
    }
  } catch (e) {
    if (!(e instanceof DecodeAbort)) throw e;
    session.abort(e);
  }
  failIfNeeded(session);

  let attributes: Attributes;
  try {
    attributes = scanAttributes(document, root);
  } catch (e) {
    if (!(e instanceof DecodeAbort)) throw e;
    session.abort(e);
    failIfNeeded(session);
    throw e;
  }

  applyCompatibility(decoded);
  let services;
  try {
    services = applyDefaults(decoded, attributes);
  } catch (e) {
    if (!(e instanceof DefaultsError)) throw e;
    session.fail('convox-rule', positionOf(session, e.path), e.path, e.convoxMessage, `${e.path}: ${e.convoxMessage}`, e.hint);
    throw failure(session);
  }

  const combined = combineEnvironment(services, decoded.environment ?? [], env);
  if (combined.missing) {
    const { service, keys } = combined.missing;
    const message = `required env: ${keys.join(', ')}`;
    session.fail(
      'missing-env',
      positionOf(session, `services.${service}.environment`),
      `services.${service}.environment`,
      message,
      `${message} (needed by service ${service})`,
      `set ${keys.length > 1 ? 'them' : 'it'} in the app environment (slipway env set ${keys.map((k) => `${k}=...`).join(' ')}), pass -e KEY=VALUE, or give a default: - ${keys[0] ?? 'KEY'}=value`,
    );
    throw failure(session);
  }

  const reserved = combineLabels(services, decoded.labels);
  if (reserved) {
    const path = `${reserved.path}.${reserved.key}`;
    const message = `reserved label key '${reserved.key}' is not allowed`;
    session.fail('convox-rule', positionOf(session, path), path, message, `${path}: ${message}`, `rename the label; ${['system', 'rack', 'app', 'name', 'service', 'release', 'type'].join(', ')} are set by the rack`);
    throw failure(session);
  }

  const manifest: Manifest = {
    ...decoded,
    balancers: decoded.balancers ?? [],
    resources: decoded.resources ?? [],
    services,
    timers: decoded.timers ?? [],
  };
  return { manifest, env: combined.env, warnings: warningsOf(session), source, positions: session.positions, attributes };
}

/** The position of a path, or of its nearest written ancestor. */
export function positionOf(session: { positions: ReadonlyMap<string, number> }, path: string): number | undefined {
  let p = path;
  for (;;) {
    const pos = session.positions.get(p);
    if (pos !== undefined) return pos;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return undefined;
    p = p.slice(0, cut);
  }
}

function warningsOf(session: DecodeSession): Diagnostic[] {
  return session.diagnostics.filter((d) => d.severity === 'warning');
}

function failure(session: DecodeSession): ManifestError {
  const errors = session.diagnostics.filter((d) => d.severity === 'error');
  return new ManifestError('load', session.convoxMessage() ?? errors[0]?.message ?? 'invalid manifest', errors, warningsOf(session), session.source);
}

function failIfNeeded(session: DecodeSession): void {
  if (session.failed) throw failure(session);
}

/** A manifest refused for its size, before parsing: located in the text as written. */
function tooLarge(file: string, text: string, at: number, message: string, hint: string): ManifestError {
  const source = new ManifestSource(file, text, { text, substitutions: [], toOriginal: (offset) => offset });
  const diagnostic: Diagnostic = { severity: 'error', code: 'too-large', message, location: source.locate(at), hint };
  return new ManifestError('load', message, [diagnostic], [], source);
}

function syntaxHint(code: string): string | undefined {
  switch (code) {
    case 'NESTING_TOO_DEEP':
      return 'a manifest nests a few levels deep; check for an unclosed [ or { or runaway indentation';
    case 'ALIAS_EXPANSION':
      return 'anchors and aliases that refer to each other multiply the document; write the values out, or alias fewer times';
    case 'TOO_MANY_VALUES':
      return 'split the app: a manifest this large is not one Convox could deploy either';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation: keys of the same map must start in the same column, and YAML does not allow tabs';
    case 'TAB_AS_INDENT':
      return 'indent with spaces; YAML does not allow tabs';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a value containing ": " must be quoted, or the line is indented wrongly';
    case 'DUPLICATE_KEY':
      return 'remove one of the two keys';
    case 'BAD_ALIAS':
    case 'UNEXPECTED_TOKEN':
      return 'a value starting with * (such as a cron schedule) must be quoted: "*/5 * * * *"';
    default:
      return undefined;
  }
}
