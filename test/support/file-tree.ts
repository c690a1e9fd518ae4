/** Folders of files for tests: each call makes a new folder under a temp root and writes the files into it. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function fileTrees(prefix: string): (files: Record<string, string>) => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return (files) => {
    const dir = join(root, `bundle-${n++}`);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return dir;
  };
}
