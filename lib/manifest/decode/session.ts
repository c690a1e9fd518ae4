/**
 * Bookkeeping for one decode of a manifest: the diagnostics we report, and the single error
 * Convox itself would have reported.
 *
 * Convox's decoder (yaml.v2) has two kinds of failure. A value of the wrong YAML type for a
 * plain field is a "type error": it is collected and decoding goes on, and at the end all of them
 * are reported together as `yaml: unmarshal errors:`. An error from one of Convox's own decoders
 * (`unknown type for service build: int`, `invalid port: ...`) stops everything at once and is
 * reported alone. We report every problem we find, but reproduce which text Convox would print.
 */
import type { Diagnostic, DiagnosticCode } from '../diagnostics';
import type { ManifestSource } from '../diagnostics';
import type { GoValue } from '../yaml/go-value';
import { shortTag } from '../yaml/go-value';

/** Thrown by a decoder to stop decoding the current value, as Convox's own decoders do. */
export class DecodeAbort extends Error {
  constructor(
    /** Convox's error text, e.g. `unknown type for service build: int`. */
    readonly convoxMessage: string,
    readonly pos: number,
    readonly path: string,
    readonly hint?: string,
    readonly code: DiagnosticCode = 'invalid-value',
    /** Our explanation when it says more than Convox's text. */
    readonly explanation?: string,
  ) {
    super(convoxMessage);
  }
}

export interface Problem {
  readonly pos: number;
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

export class DecodeSession {
  readonly diagnostics: Diagnostic[] = [];
  /** Diagnostics already reported, by severity, line and message: each is reported once. */
  private readonly reported = new Set<string>();
  /** Convox's verdict so far: the first aborting error, or the collected type errors. */
  private abortMessage: string | undefined;
  private readonly typeErrorLines: string[] = [];
  /** While > 0, errors are ones Convox would never reach (it stopped earlier); we still report them. */
  private shadowed = 0;

  /** Where each decoded key was written, by dotted path, so later checks can point at it. */
  readonly positions = new Map<string, number>();

  constructor(readonly source: ManifestSource) {}

  mark(path: string, pos: number): void {
    if (!this.positions.has(path)) this.positions.set(path, pos);
  }

  get failed(): boolean {
    return this.diagnostics.some((d) => d.severity === 'error');
  }

  /** The text Convox's Load would fail with, if decoding failed. */
  convoxMessage(): string | undefined {
    if (this.abortMessage !== undefined) return this.abortMessage;
    if (this.typeErrorLines.length > 0) return `yaml: unmarshal errors:\n${this.typeErrorLines.map((l) => `  ${l}`).join('\n')}`;
    return undefined;
  }

  /** Number of errors Convox would see; lets a caller tell whether a sub-decode failed for Convox. */
  get convoxErrorCount(): number {
    return this.typeErrorLines.length + (this.abortMessage === undefined ? 0 : 1);
  }

  private get convoxSees(): boolean {
    return this.shadowed === 0 && this.abortMessage === undefined;
  }

  /** Run `fn` as something Convox would not decode (it stopped at an earlier error). */
  shadow<T>(fn: () => T): T {
    this.shadowed++;
    try {
      return fn();
    } finally {
      this.shadowed--;
    }
  }

  /** A yaml.v2 type error: the value's YAML type cannot go into the field's Go type. */
  typeError(value: GoValue, path: string, goType: string, expected: string, hint?: string): void {
    const tag = shortTag(value);
    const shown = 'text' in value ? ` \`${truncate(value.text)}\`` : '';
    const convox = `cannot unmarshal ${tag}${shown} into ${goType}`;
    const line = this.source.locate(value.pos).line;
    if (this.convoxSees) this.typeErrorLines.push(`line ${line}: ${convox}`);
    this.error('wrong-type', value.pos, path, `${path}: expected ${expected}, got ${describe(value)}`, hint);
  }

  /** Record an aborting error (a caught DecodeAbort). */
  abort(e: DecodeAbort): void {
    if (this.convoxSees) this.abortMessage = e.convoxMessage;
    const message = e.explanation ? `${e.convoxMessage} (${e.explanation})` : e.convoxMessage;
    this.error(e.code, e.pos, e.path, e.path ? `${e.path}: ${message}` : message, e.hint);
  }

  /** A load error outside decoding (missing env, reserved label, limits): Convox reports it as is. */
  fail(code: DiagnosticCode, pos: number | undefined, path: string, convoxMessage: string, message: string, hint?: string): void {
    if (this.convoxSees) this.abortMessage = convoxMessage;
    this.error(code, pos, path, message, hint);
  }

  warn(code: DiagnosticCode, pos: number | undefined, path: string, message: string, hint?: string): void {
    this.push('warning', code, pos, path, message, hint);
  }

  private error(code: DiagnosticCode, pos: number | undefined, path: string, message: string, hint?: string): void {
    this.push('error', code, pos, path, message, hint);
  }

  private push(severity: 'error' | 'warning', code: DiagnosticCode, pos: number | undefined, path: string, message: string, hint?: string): void {
    const location = pos === undefined ? undefined : this.source.locate(pos);
    const d: Diagnostic = { severity, code, message, ...(path ? { path } : {}), ...(location ? { location } : {}), ...(hint ? { hint } : {}) };
    // A set, not a scan of the list: a file with thousands of problems must not take quadratic time.
    const id = `${d.severity}\u0000${d.location?.line ?? ''}\u0000${d.message}`;
    if (!this.reported.has(id)) {
      this.reported.add(id);
      this.diagnostics.push(d);
    }
  }
}

/** yaml.v2 shortens long values in its messages to 7 characters and "...". */
function truncate(text: string): string {
  return text.length > 10 ? `${text.slice(0, 7)}...` : text;
}

/** How a value reads to a person: `the string "abc"`, `a list`, `the number 1.5`. */
export function describe(v: GoValue): string {
  switch (v.kind) {
    case 'null':
      return 'nothing (null)';
    case 'bool':
      return v.text === 'true' || v.text === 'false' ? `the boolean ${v.text}` : `${v.text} (which YAML 1.1 reads as the boolean ${String(v.value)})`;
    case 'int':
      return `the integer ${v.text}`;
    case 'float':
      return `the number ${v.text}`;
    case 'string':
      return `the string ${JSON.stringify(v.value)}`;
    case 'map':
      return 'a map';
    case 'seq':
      return 'a list';
  }
}
