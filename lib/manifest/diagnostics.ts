/**
 * Problems found in a convox.yml, with the place they were found. Errors stop a load or a
 * validation (as they do in Convox); warnings report what Convox silently accepts or ignores.
 */
import { SlipwayError } from '../errors';
import { LineIndex } from './source/location';
import type { Interpolated } from './source/interpolate';

export type Severity = 'error' | 'warning';

export type DiagnosticCode =
  /** YAML that does not parse. */
  | 'yaml-syntax'
  /** A value whose YAML type the field cannot take (Convox fails the load). */
  | 'wrong-type'
  /** A value Convox's decoder rejects with its own message. */
  | 'invalid-value'
  /** A key Convox does not know and ignores. */
  | 'unknown-key'
  /** A value of the wrong type that Convox silently drops. */
  | 'ignored-value'
  /** A key written with no value, which Convox reads as zero or empty. */
  | 'empty-value'
  /** A key Convox matches only case-insensitively (`CPU` for `cpu`). */
  | 'key-case'
  /** Something Convox accepts that likely does not do what the author meant. */
  | 'suspicious'
  /** A required environment variable is missing. */
  | 'missing-env'
  /** A problem reported by Convox's Validate (or by its Load after decoding). */
  | 'convox-rule'
  /** A manifest larger than Slipway reads (as written, or once `${VAR}`s are substituted). */
  | 'too-large';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  /** Convox's own wording when Convox reports the problem, ours otherwise. */
  readonly message: string;
  /** Dotted key path of the offending value, e.g. `services.web.scale.cpu`. */
  readonly path?: string;
  readonly location?: SourceLocation;
  /** What to do about it. */
  readonly hint?: string;
}

/** The manifest text as written and as parsed (after `${VAR}` interpolation). */
export class ManifestSource {
  private readonly lines: LineIndex;

  constructor(
    readonly file: string,
    readonly original: string,
    readonly interpolated: Interpolated,
  ) {
    this.lines = new LineIndex(original);
  }

  /** Location in the original file of an offset in the interpolated text. */
  locate(pos: number): SourceLocation {
    const { line, column } = this.lines.position(this.interpolated.toOriginal(pos));
    return { file: this.file, line, column };
  }

  lineText(line: number): string {
    return this.lines.lineText(line);
  }
}

/** A failed load or validation: Convox's error text plus our located diagnostics. */
export class ManifestError extends SlipwayError {
  constructor(
    readonly stage: 'load' | 'validate',
    /** Exactly what Convox prints for this failure. */
    readonly convoxMessage: string,
    readonly diagnostics: readonly Diagnostic[],
    readonly warnings: readonly Diagnostic[] = [],
    /** The text the diagnostics point into, for printing code frames. */
    readonly source?: ManifestSource,
  ) {
    super(convoxMessage, stage === 'load' ? 'MANIFEST_LOAD_FAILED' : 'MANIFEST_INVALID', {
      file: diagnostics[0]?.location?.file,
    });
  }
}

/** Render a diagnostic the way compilers do: `file:line:col: severity: message`, the line, a caret. */
export function formatDiagnostic(d: Diagnostic, source?: ManifestSource): string {
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.column}: ` : '';
  const out = [`${where}${d.severity}: ${d.message}`];
  if (d.location && source && d.location.file === source.file) {
    const text = source.lineText(d.location.line);
    if (text.trim() !== '') {
      const gutter = String(d.location.line);
      const pad = ' '.repeat(gutter.length);
      const caretPad = text.slice(0, d.location.column - 1).replace(/[^\t]/g, ' ');
      out.push(`  ${gutter} | ${text}`, `  ${pad} | ${caretPad}^`);
    }
  }
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}
