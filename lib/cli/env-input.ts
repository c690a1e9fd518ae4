/** Reading an app environment from `-e KEY=VALUE` flags and `--env-file` files. */
import { readFileSync } from 'node:fs';
import { SlipwayError } from '../errors';

export class EnvInputError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message, 'ENV_INPUT_INVALID', context);
  }
}

/**
 * `KEY=VALUE` (the value may contain `=`; `KEY=` is an empty value). A malformed one is not quoted
 * back: without a key, or without `=`, what was typed may well be the value itself.
 */
export function parseAssignment(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at < 0) throw new EnvInputError('expected KEY=VALUE, got an argument without "=" (not shown: it may be a value)');
  if (at === 0) throw new EnvInputError('expected KEY=VALUE, got "=" with no key before it (the value is not shown)');
  return [text.slice(0, at), text.slice(at + 1)];
}

/**
 * A dotenv file: `KEY=VALUE` lines, `#` comments, blank lines, an optional `export ` prefix, and
 * values optionally in single or double quotes (double quotes understand \n, \t, \" and \\).
 */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trim() : line;
    const at = body.indexOf('=');
    if (at <= 0) throw new EnvInputError(`${file}:${index + 1}: expected KEY=VALUE`, { file, line: index + 1 });
    const key = body.slice(0, at).trim();
    let value = body.slice(at + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\([nt"\\])/g, (_m, c: string) => ({ n: '\n', t: '\t', '"': '"', '\\': '\\' })[c] ?? c);
    } else if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[key] = value;
  });
  return out;
}

export function readEnv(options: { env?: string[]; envFile?: string[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of options.envFile ?? []) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new EnvInputError(`cannot read env file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
    }
    Object.assign(out, parseEnvFile(text, file));
  }
  for (const assignment of options.env ?? []) {
    const [k, v] = parseAssignment(assignment);
    out[k] = v;
  }
  return out;
}
