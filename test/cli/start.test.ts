/** `npm start` (slipway start) on the bundled example app. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

describe('slipway start', () => {
  it('prints the deploy plan of an app with --plan', async () => {
    const r = await runCli(['start', 'examples/monolith', '--plan']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('app monolith');
    expect(r.stdout).toMatch(/build 2 images/);
    expect(r.stdout).toMatch(/mydb\s+postgres\s+MYDB_URL, MYDB_USER, MYDB_PASS, MYDB_HOST, MYDB_PORT, MYDB_NAME into web/);
    expect(r.stdout).toMatch(/notifications\s+1 process\s+http :4000\s+health \/health\s+internal: notifications\.monolith\.convox\.local:4000/);
    expect(r.stdout).toMatch(/cleanup\s+"0 3 \* \* \*"\s+node bin\/cleanup\.js\s+on web/);
  });

  it('fails with the manifest\u2019s problems when the app is invalid', async () => {
    const r = await runCli(['start', 'test/fixtures/guide', '-e', 'X=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('convox.yml: no such file');
  });
});
