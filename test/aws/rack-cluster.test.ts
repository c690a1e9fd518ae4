/** The rack's cluster, imported or created, checked by synthesis (no AWS account is reachable here). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KUBERNETES_VERSION, RackCluster, rackRbacManifest } from '../../lib/aws/rack-cluster';
import type { RackClusterSpec } from '../../lib/aws/rack-cluster';

function build(cluster: RackClusterSpec, app = new App()): { stack: Stack; rack: RackCluster } {
  const stack = new Stack(app, 'Rack');
  if (cluster.mode === 'import') {
    Validations.of(stack).acknowledge({ id: 'CloudFormation-Validate::F0001', reason: 'the test stack holds only an imported cluster, which creates no resource' });
  }
  return { stack, rack: new RackCluster(stack, 'Cluster', { rackName: 'test', cluster }) };
}

function passesNag(cluster: RackClusterSpec): void {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'slipway-nag-')) });
  build(cluster, app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // A finding makes synthesis throw, with the report written next to the template.
  expect(() => app.synth()).not.toThrow();
}

describe('an imported cluster (synthesised; no AWS account here)', () => {
  it('names the cluster and creates nothing, in AWS or in the cluster', () => {
    const { stack, rack } = build({ mode: 'import', name: 'shared', vpcId: 'vpc-0123456789abcdef0' });
    expect(rack.name).toBe('shared');
    expect(rack.vpcId).toBe('vpc-0123456789abcdef0');
    expect(rack.cluster).toBeUndefined();
    expect(JSON.stringify(stack.resolve(rack.arn))).toBe(
      JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':cluster/shared']] }),
    );
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, unknown> | undefined;
    expect(Object.keys(resources ?? {})).toEqual([]);
  });

  it('leaves the VPC unnamed when none is given', () => {
    expect(build({ mode: 'import', name: 'shared' }).rack.vpcId).toBeUndefined();
  });

  it('passes cdk-nag\u2019s AWS Solutions checks', () => passesNag({ mode: 'import', name: 'shared' }));
});

describe('a created cluster (synthesised; no AWS account here)', () => {
  let t: Template;
  let rack: RackCluster;
  let stack: Stack;
  beforeAll(() => {
    ({ stack, rack } = build({ mode: 'create' }));
    t = Template.fromStack(stack);
  });

  it('runs EKS Auto Mode with every control-plane log, secrets sealed with a rotating key, and both endpoints', () => {
    t.resourceCountIs('AWS::EKS::Cluster', 1);
    t.hasResourceProperties('AWS::EKS::Cluster', {
      Name: 'slipway-test',
      Version: DEFAULT_KUBERNETES_VERSION,
      ComputeConfig: Match.objectLike({ Enabled: true, NodePools: ['system', 'general-purpose'], NodeRoleArn: Match.anyValue() }),
      KubernetesNetworkConfig: Match.objectLike({ ElasticLoadBalancing: { Enabled: true } }),
      StorageConfig: { BlockStorage: { Enabled: true } },
      AccessConfig: Match.objectLike({ AuthenticationMode: 'API' }),
      Logging: { ClusterLogging: { EnabledTypes: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].map((type) => ({ Type: type })) } },
      EncryptionConfig: [{ Provider: { KeyArn: Match.anyValue() }, Resources: ['secrets'] }],
      ResourcesVpcConfig: Match.objectLike({ EndpointPrivateAccess: true, EndpointPublicAccess: true }),
    });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(rack.cluster).toBeDefined();
    expect(rack.name).toBe(rack.cluster!.clusterName);
    expect(rack.arn).toBe(rack.cluster!.clusterArn);
    expect(rack.vpcId).toBe(rack.cluster!.vpc.vpcId);
  });

  it('gives the nodes the minimal Auto Mode node policies', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] },
      ManagedPolicyArns: ['AmazonEKSWorkerNodeMinimalPolicy', 'AmazonEC2ContainerRegistryPullOnly'].map((policy) => ({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/${policy}`]],
      })),
    });
  });

  it('puts the cluster in a new two-zone VPC with private node subnets behind NAT and flow logs', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::NatGateway', 2);
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
    const subnets = Object.values(t.findResources('AWS::EC2::Subnet')) as { Properties: { Tags: { Key: string; Value: string }[] } }[];
    const privateSubnets = subnets.filter((s) => s.Properties.Tags.some((tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Private'));
    expect(privateSubnets).toHaveLength(2);
    // The control plane's network interfaces go in the private subnets only.
    const clusters = Object.values(t.findResources('AWS::EKS::Cluster')) as { Properties: { ResourcesVpcConfig: { SubnetIds: unknown[] } } }[];
    expect(clusters[0]!.Properties.ResourcesVpcConfig.SubnetIds).toHaveLength(2);
  });

  it('installs the CloudWatch Observability add-on with a Pod Identity for its agent', () => {
    const addons = t.findResources('AWS::EKS::Addon', { Properties: { AddonName: 'amazon-cloudwatch-observability' } });
    expect(Object.keys(addons)).toHaveLength(1);
    const associations = t.findResources('AWS::EKS::PodIdentityAssociation', {
      Properties: { Namespace: 'amazon-cloudwatch', ServiceAccount: 'cloudwatch-agent', ClusterName: Match.anyValue(), RoleArn: Match.anyValue() },
    });
    expect(Object.keys(associations)).toHaveLength(1);
    // The agent's identity exists before its pods start.
    expect(Object.values(addons)[0]).toMatchObject({ DependsOn: Object.keys(associations) });
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Principal: { Service: 'pods.eks.amazonaws.com' },
            Condition: {
              StringEquals: {
                'aws:RequestTag/eks-cluster-name': 'slipway-test',
                'aws:RequestTag/kubernetes-namespace': 'amazon-cloudwatch',
                'aws:RequestTag/kubernetes-service-account': 'cloudwatch-agent',
              },
            },
          }),
        ],
      },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/CloudWatchAgentServerPolicy']] }],
    });
  });

  it('creates no kubectl provider function', () => {
    t.resourceCountIs('AWS::Lambda::Function', 0);
  });

  it('takes the Kubernetes version it is given', () => {
    const { stack: other } = build({ mode: 'create', version: '1.34' });
    Template.fromStack(other).hasResourceProperties('AWS::EKS::Cluster', { Version: '1.34' });
  });

  it('passes cdk-nag\u2019s AWS Solutions checks with no unacknowledged finding', () => passesNag({ mode: 'create' }));
});

describe('the rack RBAC manifest', () => {
  it('lets the rack\u2019s namespaces group read, create and patch namespaces, and nothing else', () => {
    const [role, binding, ...rest] = rackRbacManifest('test');
    expect(rest).toEqual([]);
    expect(role).toMatchObject({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'slipway:test:namespaces' },
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'patch'] }],
    });
    expect(binding).toMatchObject({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'slipway:test:namespaces' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'slipway:test:namespaces' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'slipway:test:namespaces' }],
    });
  });
});
