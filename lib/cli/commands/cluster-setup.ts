/**
 * `slipway rack cluster-setup`: the Kubernetes objects a cluster needs once before an AWS rack can
 * deploy to it, printed as YAML for its owner to review and apply (`| kubectl apply -f -`). The
 * stack cannot apply them itself without a kubectl Lambda, and the owner of an imported cluster
 * should see what the rack is given anyway.
 */
import { stringify } from 'yaml';
import { rackRbacManifest } from '../../aws/rack-cluster';
import { RACK_NAME } from '../../aws/rack-config';
import { SlipwayError } from '../../errors';
import type { CliIO } from '../io';

/**
 * EKS Auto Mode serves Ingresses through its own load balancer controller, which needs an
 * IngressClass naming it (the renderer's default class is `alb`).
 */
function autoModeIngressClass(name: string): object[] {
  return [
    { apiVersion: 'eks.amazonaws.com/v1', kind: 'IngressClassParams', metadata: { name }, spec: { scheme: 'internet-facing' } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name },
      spec: { controller: 'eks.amazonaws.com/alb', parameters: { apiGroup: 'eks.amazonaws.com', kind: 'IngressClassParams', name } },
    },
  ];
}

export function clusterSetupCommand(io: CliIO, options: { rack: string; autoMode: boolean; ingressClass: string }): void {
  if (!RACK_NAME.test(options.rack)) throw new SlipwayError(`--rack ${JSON.stringify(options.rack)} is not a rack name: 1 to 20 lower-case letters, digits and dashes, starting with a letter`, 'USAGE');
  const objects = [...rackRbacManifest(options.rack), ...(options.autoMode ? autoModeIngressClass(options.ingressClass) : [])];
  io.stdout.write(`# Slipway rack ${options.rack}: apply once with kubectl (cluster-admin), e.g. slipway rack cluster-setup --rack ${options.rack} | kubectl apply -f -\n`);
  io.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
}
