/**
 * `balancers`: a LoadBalancer Service per balancer, `balancer-<name>`, sending each listen port
 * to a port of the service's pods. On AWS the Load Balancer Controller makes it a Network Load
 * Balancer with the pods as targets; `whitelist` limits the sources, `annotations` are added.
 */
import type { Balancer } from '../../manifest';
import type { KubernetesObject } from '../objects';
import type { AppContext } from './common';
import { annotationMap, selectorLabels, slipwayLabels, sortedRecord } from './common';

export function renderBalancer(ctx: AppContext, balancer: Balancer, release: string): KubernetesObject {
  const annotations = sortedRecord({
    'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
    'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    ...annotationMap(balancer.annotations),
  });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `balancer-${balancer.name}`, namespace: ctx.namespace, labels: slipwayLabels({ app: ctx.app, service: balancer.service, release }), annotations },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Cluster',
      selector: selectorLabels({ app: ctx.app, service: balancer.service, type: 'service' }),
      // A port's name must contain a letter: Convox's bare "<source>" is not a valid one.
      ports: balancer.ports.map((p) => ({ name: `port-${p.source}`, port: p.source, protocol: (p.protocol || 'tcp').toUpperCase(), targetPort: p.port })),
      ...((balancer.whitelist?.length ?? 0) > 0 ? { loadBalancerSourceRanges: balancer.whitelist } : {}),
    },
  };
}
