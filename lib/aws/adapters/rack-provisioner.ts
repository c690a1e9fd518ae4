/**
 * The AWS rack's Provisioner: containerised resources run in the cluster (the Kubernetes
 * provisioner), managed ones are CloudFormation stacks (the CloudFormation provisioner). Each
 * takes the resources it knows and ignores the others, so both see the whole list.
 */
import type { Resource } from '../../manifest';
import type { Provisioner } from '../../pipeline/ports/runtime';

export class RackProvisioner implements Provisioner {
  constructor(
    private readonly containerised: Provisioner,
    private readonly managed: Provisioner,
  ) {}

  async ensure(app: string, resources: readonly Resource[], env: Readonly<Record<string, string>>): Promise<{ readonly ready: boolean; readonly waitingOn: readonly string[] }> {
    // The cluster's part goes first: it applies the app's namespace, where the managed
    // resources' connection Secrets are written.
    const inCluster = await this.containerised.ensure(app, resources, env);
    const managed = await this.managed.ensure(app, resources, env);
    return { ready: inCluster.ready && managed.ready, waitingOn: [...inCluster.waitingOn, ...managed.waitingOn] };
  }
}
