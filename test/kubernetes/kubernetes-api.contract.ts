/**
 * The adapters of the KubernetesApi port, each connected to a Kubernetes API test double. The
 * applier, rollout and runtime tests run once per adapter, so what they show holds for both:
 * client-node (kubeconfig users) and the node:https client (the step Lambdas).
 */
import { ClientNodeKubernetesApi } from '../../lib/kubernetes/api/client-node-api';
import { HttpsKubernetesApi } from '../../lib/kubernetes/api/https-api';
import type { KubernetesApi } from '../../lib/kubernetes/api/kubernetes-api';
import type { KubeApiTestDouble } from '../support/kube-api-double';

export interface KubernetesApiAdapter {
  /** The adapter's class name, for test names (`$adapter` in describe.each). */
  readonly adapter: string;
  /** A new client of the double, as a new process would make one; with another token to be refused. */
  readonly connect: (double: KubeApiTestDouble, token?: string) => KubernetesApi;
}

export const KUBERNETES_API_ADAPTERS: readonly KubernetesApiAdapter[] = [
  { adapter: 'ClientNodeKubernetesApi', connect: (double, token = double.token) => new ClientNodeKubernetesApi(double.kubeConfig(token)) },
  { adapter: 'HttpsKubernetesApi', connect: (double, token = double.token) => new HttpsKubernetesApi(() => Promise.resolve({ server: double.url, token })) },
];
