/**
 * Build and release ids, as Convox writes them: `B` or `R` followed by ten upper-case letters
 * (`BABCDEFGHIJ`), drawn from a cryptographic source without modulo bias.
 */
import { randomBytes } from 'node:crypto';

export type BuildId = `B${string}`;
export type ReleaseId = `R${string}`;

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const BUILD_ID = /^B[A-Z]{10}$/;
export const RELEASE_ID = /^R[A-Z]{10}$/;

function letters(n: number, random: (size: number) => Buffer): string {
  let out = '';
  while (out.length < n) {
    for (const byte of random(n * 2)) {
      // 256 = 9 * 26 + 22: bytes from 234 up would favour the first letters.
      if (byte < 234 && out.length < n) out += LETTERS[byte % 26];
    }
  }
  return out;
}

export function newBuildId(random: (size: number) => Buffer = randomBytes): BuildId {
  return `B${letters(10, random)}`;
}

export function newReleaseId(random: (size: number) => Buffer = randomBytes): ReleaseId {
  return `R${letters(10, random)}`;
}
