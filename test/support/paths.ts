/** Locations the tests share. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = resolve(REPO_ROOT, 'test/fixtures');
export const CLI = resolve(REPO_ROOT, 'bin/slipway.mjs');

/**
 * Convox's public manifest fixtures live outside this repository (they are Convox's work).
 * SLIPWAY_CONFORMANCE_DIR points at them; the default is the shared checkout next to ours.
 */
export function conformanceDir(): { dir: string; found: boolean } {
  const dir = resolve(REPO_ROOT, process.env.SLIPWAY_CONFORMANCE_DIR ?? '../shared/conformance/convox');
  return { dir, found: existsSync(resolve(dir, 'expected.json')) };
}
