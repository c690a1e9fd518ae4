/**
 * The EKS cluster a rack deploys apps to: either one the team already runs (import) or one the
 * rack creates for itself (create).
 *
 * Import: the rack only names the cluster; it creates nothing in it and changes nothing about it.
 * Its step roles reach the cluster through access entries, and the cluster's owner applies
 * `rackRbacManifest` once. Container logs of an imported cluster reach CloudWatch Logs only if
 * the owner has installed the Amazon CloudWatch Observability add-on (docs/aws-rack.md says how).
 *
 * Create: an EKS Auto Mode cluster (AWS runs the nodes, load balancing and storage) in a VPC of
 * its own, with control-plane logs, Kubernetes secrets sealed with a KMS key, and the CloudWatch
 * Observability add-on, whose Fluent Bit ships every container's output to CloudWatch Logs
 * (`/aws/containerinsights/<cluster>/application`, each record naming its namespace, pod and
 * container).
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { CfnAddon, CfnPodIdentityAssociation } from 'aws-cdk-lib/aws-eks';
import { Cluster, ClusterLoggingTypes, DefaultCapacityType, EndpointAccess, KubernetesVersion } from 'aws-cdk-lib/aws-eks-v2';
import { ManagedPolicy, Role, ServicePrincipal, SessionTagsPrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SLIPWAY_LABELS } from '../kubernetes/objects';
import type { KubernetesObject } from '../kubernetes/objects';

/** The Kubernetes version of a created cluster when none is given; EKS must offer it in standard support. */
export const DEFAULT_KUBERNETES_VERSION = '1.35';

/** Where the CloudWatch Observability add-on runs its agent and Fluent Bit. */
export const OBSERVABILITY_ADDON = { name: 'amazon-cloudwatch-observability', namespace: 'amazon-cloudwatch', serviceAccount: 'cloudwatch-agent' } as const;

/** The AWS managed policies EKS Auto Mode needs on the cluster role (eks-v2 attaches them). */
const AUTO_MODE_CLUSTER_POLICIES = ['AmazonEKSClusterPolicy', 'AmazonEKSComputePolicy', 'AmazonEKSBlockStoragePolicy', 'AmazonEKSLoadBalancingPolicy', 'AmazonEKSNetworkingPolicy'] as const;
const AUTO_MODE_NODE_POLICIES = ['AmazonEKSWorkerNodeMinimalPolicy', 'AmazonEC2ContainerRegistryPullOnly'] as const;

export type RackClusterSpec =
  | { readonly mode: 'import'; readonly name: string; readonly vpcId?: string }
  | { readonly mode: 'create'; readonly version?: string };

export interface RackClusterProps {
  readonly rackName: string;
  readonly cluster: RackClusterSpec;
}

export class RackCluster extends Construct {
  readonly name: string;
  readonly arn: string;
  readonly vpcId?: string;
  /** The cluster the rack created (create mode only). */
  readonly cluster?: Cluster;

  constructor(scope: Construct, id: string, props: RackClusterProps) {
    super(scope, id);
    const spec = props.cluster;
    if (spec.mode === 'import') {
      this.name = spec.name;
      this.arn = Stack.of(this).formatArn({ service: 'eks', resource: 'cluster', resourceName: spec.name });
      this.vpcId = spec.vpcId;
      return;
    }
    const cluster = createCluster(this, props.rackName, spec.version ?? DEFAULT_KUBERNETES_VERSION);
    this.cluster = cluster;
    this.name = cluster.clusterName;
    this.arn = cluster.clusterArn;
    this.vpcId = cluster.vpc.vpcId;
  }
}

function createCluster(scope: Construct, rackName: string, version: string): Cluster {
  const clusterName = `slipway-${rackName}`;
  const flowLogs = new LogGroup(scope, 'FlowLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
  const vpc = new Vpc(scope, 'Network', {
    maxAzs: 2,
    // One NAT gateway per zone, so losing a zone does not cut the other zone's nodes off from ECR and AWS APIs.
    natGateways: 2,
    subnetConfiguration: [
      { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'nodes', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 18 },
    ],
    flowLogs: { all: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL } },
  });
  const secretsKey = new Key(scope, 'SecretsKey', {
    description: `Slipway rack ${rackName}: Kubernetes secrets of cluster ${clusterName}`,
    enableKeyRotation: true,
  });
  // The policies AWS documents for Auto Mode nodes (CDK's default node role carries broader ones).
  const nodeRole = new Role(scope, 'NodeRole', {
    description: `Slipway rack ${rackName}: EKS Auto Mode nodes of cluster ${clusterName}`,
    assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
    managedPolicies: AUTO_MODE_NODE_POLICIES.map((policy) => ManagedPolicy.fromAwsManagedPolicyName(policy)),
  });
  for (const policy of AUTO_MODE_NODE_POLICIES) {
    Validations.of(nodeRole).acknowledge({
      id: managedPolicyFinding(policy),
      reason: `EKS Auto Mode nodes need ${policy}, the minimal policy AWS documents for them: the node joins the cluster and pulls images with it`,
    });
  }
  const cluster = new Cluster(scope, 'Cluster', {
    clusterName,
    version: KubernetesVersion.of(version),
    defaultCapacityType: DefaultCapacityType.AUTOMODE,
    compute: { nodeRole },
    vpc,
    vpcSubnets: [{ subnetType: SubnetType.PRIVATE_WITH_EGRESS }],
    endpointAccess: EndpointAccess.PUBLIC_AND_PRIVATE,
    clusterLogging: Object.values(ClusterLoggingTypes),
    secretsEncryptionKey: secretsKey,
    outputConfigCommand: false,
  });
  Validations.of(cluster).acknowledge({
    id: 'AwsSolutions-EKS1',
    reason: 'the step Lambdas run outside the VPC and call the Kubernetes API over the public endpoint; every call still needs an IAM identity with an access entry, and nodes use the private endpoint',
  });
  for (const policy of AUTO_MODE_CLUSTER_POLICIES) {
    Validations.of(cluster).acknowledge({
      id: managedPolicyFinding(policy),
      reason: `EKS Auto Mode requires ${policy} on the cluster role: the control plane manages nodes, load balancers, volumes and network interfaces with it, and AWS updates it as Auto Mode changes`,
    });
  }
  Validations.of(cluster).acknowledge({
    id: 'CloudFormation-Validate::W9009',
    reason: 'the eks-v2 Cluster construct writes EncryptionConfig.Resources ["secrets"], which CloudFormation marks deprecated but still honours; CDK owns that property',
  });

  const observabilityRole = new Role(scope, 'ObservabilityRole', {
    description: `Slipway rack ${rackName}: CloudWatch agent and Fluent Bit of cluster ${clusterName}`,
    // Auto Mode runs the Pod Identity agent itself. It tags the session with the pod's cluster,
    // namespace and service account, and only the add-on's agent matches these.
    assumedBy: new SessionTagsPrincipal(
      new ServicePrincipal('pods.eks.amazonaws.com').withConditions({
        StringEquals: {
          'aws:RequestTag/eks-cluster-name': clusterName,
          'aws:RequestTag/kubernetes-namespace': OBSERVABILITY_ADDON.namespace,
          'aws:RequestTag/kubernetes-service-account': OBSERVABILITY_ADDON.serviceAccount,
        },
      }),
    ),
    managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('CloudWatchAgentServerPolicy')],
  });
  Validations.of(observabilityRole).acknowledge({
    id: managedPolicyFinding('CloudWatchAgentServerPolicy'),
    reason: 'the policy AWS documents for the CloudWatch Observability add-on: it writes metrics and the container log groups it creates; AWS keeps it in step with what the agent and Fluent Bit call',
  });
  const identity = new CfnPodIdentityAssociation(scope, 'ObservabilityIdentity', {
    clusterName: cluster.clusterName,
    namespace: OBSERVABILITY_ADDON.namespace,
    serviceAccount: OBSERVABILITY_ADDON.serviceAccount,
    roleArn: observabilityRole.roleArn,
  });
  const addon = new CfnAddon(scope, 'Observability', {
    clusterName: cluster.clusterName,
    addonName: OBSERVABILITY_ADDON.name,
    resolveConflicts: 'OVERWRITE',
  });
  // The agent's pods must find their identity when they first start, or they run without credentials until restarted.
  addon.addResourceDependency(identity);
  return cluster;
}

function managedPolicyFinding(policy: string): string {
  return `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}]`;
}

/** The Kubernetes group the rack's step roles are put in by their access entries. */
export function rackNamespacesGroup(rackName: string): string {
  return `slipway:${rackName}:namespaces`;
}

/**
 * The cluster-wide permission the rack's steps need beyond the Edit policy their access entries
 * give them within `<rack>-*`: creating an app's namespace (`<rack>-<app>`) and keeping its labels.
 * RBAC cannot limit `create` by name, nor `patch` to names not known in advance, so the group may
 * create any namespace and patch any namespace object; it can never delete one, nor read or change
 * anything inside a namespace outside `<rack>-*`.
 */
export function rackRbacManifest(rackName: string): KubernetesObject[] {
  const name = rackNamespacesGroup(rackName);
  const labels = { [SLIPWAY_LABELS.managedBy]: 'slipway' };
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name }],
    },
  ];
}
