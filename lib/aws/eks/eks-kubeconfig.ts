/**
 * A KubeConfig for an EKS cluster, for what runs @kubernetes/client-node (the CLI, tools). Kept
 * apart from eks-cluster-access.ts, which the step Lambdas import: client-node would take their
 * bundles over the size limit. Not exported from the package index for the same reason.
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesConnection } from '../../kubernetes/api/https-api';
import type { EksClusterAccess } from './eks-cluster-access';

/** One KubeConfig per connection, so client-node's clients (cached per KubeConfig) are made again only when the token is. */
const kubeConfigs = new WeakMap<KubernetesConnection, KubeConfig>();

/**
 * A KubeConfig for the cluster with its current token; ask again for each use, as
 * `new ClientNodeKubernetesApi(() => eksKubeConfig(access, cluster))` does, to follow renewals.
 */
export async function eksKubeConfig(access: EksClusterAccess, cluster: string): Promise<KubeConfig> {
  const connection = await access.connection(cluster);
  let config = kubeConfigs.get(connection);
  if (!config) {
    config = kubeConfigOf(cluster, connection);
    kubeConfigs.set(connection, config);
  }
  return config;
}

function kubeConfigOf(cluster: string, connection: KubernetesConnection): KubeConfig {
  const config = new KubeConfig();
  const user = `slipway@${cluster}`;
  config.loadFromOptions({
    clusters: [{ name: cluster, server: connection.server, ...(connection.caData ? { caData: connection.caData } : {}), skipTLSVerify: false }],
    users: [{ name: user, token: connection.token }],
    contexts: [{ name: cluster, cluster, user }],
    currentContext: cluster,
  });
  return config;
}
