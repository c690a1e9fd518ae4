/** `slipway rack cluster-setup`: what an AWS rack's cluster needs once, as YAML for kubectl. */
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { rackNamespacesGroup } from '../../lib/aws/rack-cluster';
import { runCli } from '../support/cli';

describe('slipway rack cluster-setup (the real CLI)', () => {
  it('prints the RBAC that binds the group the step roles are in, and with --auto-mode the IngressClass', async () => {
    const run = await runCli(['rack', 'cluster-setup', '--rack', 'prod', '--auto-mode']);
    expect(run.code).toBe(0);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJS() as { kind: string; subjects?: { name: string }[]; spec?: { controller?: string } });
    expect(objects.map((o) => o.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'IngressClassParams', 'IngressClass']);
    expect(objects[1]?.subjects?.[0]?.name).toBe(rackNamespacesGroup('prod'));
    expect(objects[3]?.spec?.controller).toBe('eks.amazonaws.com/alb');
  });

  it('refuses a rack name the stack would refuse', async () => {
    const run = await runCli(['rack', 'cluster-setup', '--rack', 'Prod']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--rack "Prod" is not a rack name');
  });
});
