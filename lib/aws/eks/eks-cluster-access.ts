/**
 * Access to an EKS cluster's Kubernetes API for the rack: the endpoint and CA come from EKS
 * DescribeCluster (asked once per cluster: they do not change while the cluster lives), and the
 * bearer token is an `eksToken`, made again before EKS stops accepting it. Each token gets its
 * own connection object, which the Kubernetes client asks for before every request, so it
 * picks a renewed token up on its next call.
 *
 * The step Lambdas import this module: it must not import @kubernetes/client-node (a bundle
 * limit of 1 MB), hence HttpsKubernetesApi; a KubeConfig for client-node is in eks-kubeconfig.ts.
 */
import type { EKSClient } from '@aws-sdk/client-eks';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import { SlipwayError } from '../../errors';
import type { KubernetesConnection } from '../../kubernetes/api/https-api';
import { HttpsKubernetesApi } from '../../kubernetes/api/https-api';
import type { KubernetesApi } from '../../kubernetes/api/kubernetes-api';
import type { AwsCredentials } from './eks-token';
import { eksToken } from './eks-token';

/** Tokens are good for 15 minutes; a new one is made after 10, so none is used near its end. */
export const TOKEN_REFRESH_AFTER_MS = 10 * 60 * 1000;

export interface ClusterEndpoint {
  readonly server: string;
  /** The cluster's CA certificate, base64 (as a kubeconfig's certificate-authority-data). */
  readonly caData: string;
}

export interface EksClusterAccessOptions {
  readonly eks: EKSClient;
  /** The cluster's region: the token is signed for that region's STS endpoint. */
  readonly region: string;
  readonly credentials: AwsCredentials;
  readonly clock?: { now(): number };
  readonly refreshAfterMs?: number;
}

export class EksAccessError extends SlipwayError {
  constructor(message: string, context: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, 'EKS_ACCESS', context, options);
  }
}

export class EksClusterAccess {
  private readonly endpoints = new Map<string, Promise<ClusterEndpoint>>();
  private readonly connections = new Map<string, Promise<{ readonly connection: KubernetesConnection; readonly madeAt: number }>>();

  constructor(private readonly options: EksClusterAccessOptions) {}

  private now(): number {
    return this.options.clock?.now() ?? Date.now();
  }

  /** The cluster's API endpoint and CA; DescribeCluster is called once per cluster (again only after a failure). */
  endpoint(cluster: string): Promise<ClusterEndpoint> {
    let found = this.endpoints.get(cluster);
    if (!found) {
      found = this.describe(cluster);
      found.catch(() => this.endpoints.delete(cluster));
      this.endpoints.set(cluster, found);
    }
    return found;
  }

  /**
   * The cluster's endpoint, CA and a token that EKS accepts for at least five more minutes; the
   * same object until the token is renewed.
   */
  async connection(cluster: string): Promise<KubernetesConnection> {
    const current = this.connections.get(cluster);
    if (current) {
      const { connection, madeAt } = await current;
      if (this.now() - madeAt < (this.options.refreshAfterMs ?? TOKEN_REFRESH_AFTER_MS)) return connection;
      // Another caller may have started the renewal while this one waited.
      if (this.connections.get(cluster) !== current) return this.connection(cluster);
    }
    const renewed = this.makeConnection(cluster);
    renewed.catch(() => {
      if (this.connections.get(cluster) === renewed) this.connections.delete(cluster);
    });
    this.connections.set(cluster, renewed);
    return (await renewed).connection;
  }

  /** The Kubernetes API of the cluster, renewing its token as it goes. */
  kubernetesApi(cluster: string): KubernetesApi {
    return new HttpsKubernetesApi(() => this.connection(cluster));
  }

  private async makeConnection(cluster: string): Promise<{ connection: KubernetesConnection; madeAt: number }> {
    const endpoint = await this.endpoint(cluster);
    const madeAt = this.now();
    const { token } = await eksToken({ cluster, region: this.options.region, credentials: this.options.credentials, now: new Date(madeAt) });
    return { connection: { server: endpoint.server, caData: endpoint.caData, token }, madeAt };
  }

  private async describe(cluster: string): Promise<ClusterEndpoint> {
    let described;
    try {
      described = (await this.options.eks.send(new DescribeClusterCommand({ name: cluster }))).cluster;
    } catch (e) {
      throw new EksAccessError(`cannot describe EKS cluster ${cluster} in ${this.options.region}: ${(e as Error).message}`, { cluster, region: this.options.region }, { cause: e });
    }
    const server = described?.endpoint;
    const caData = described?.certificateAuthority?.data;
    if (!server || !caData) {
      throw new EksAccessError(`EKS cluster ${cluster} has no API endpoint yet (status ${described?.status ?? 'unknown'}): wait until it is ACTIVE`, { cluster, status: described?.status });
    }
    return { server, caData };
  }
}
