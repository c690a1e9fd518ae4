/**
 * The runtime and provisioner in the rack's EKS cluster (managed resources through CloudFormation),
 * for the steps with the `cluster` capability only: the endpoint from DescribeCluster, a token
 * signed with the function's own role (its access entry admits it to the rack's namespaces).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SlipwayError } from '../errors';
import type { KubernetesApi } from '../kubernetes/api/kubernetes-api';
import { KubernetesProvisioner, KubernetesRuntime } from '../kubernetes/kubernetes-runtime';
import { renderJob, renderRelease, renderResources } from '../kubernetes/render';
import type { ReleaseId } from '../pipeline/domain/ids';
import type { ReleaseStore } from '../pipeline/stores/release-store';
import type { Provisioner } from '../pipeline/ports/runtime';
import { CloudFormationResourceProvisioner } from './adapters/cloudformation-provisioner';
import { Ec2PrivateSubnets } from './adapters/ec2-private-subnets';
import { RackProvisioner } from './adapters/rack-provisioner';
import { RdsDescribeInstances } from './adapters/rds-instances';
import { EksClusterAccess } from './eks';
import { adoptedResource, renderResourceStack } from './resources/render';
import type { ClusterPorts, RackSettings } from './rack-context';
import { RackSettingsError } from './rack-context';

function eksApi(settings: RackSettings): { eks: EKSClient; api: KubernetesApi } {
  const region = process.env.AWS_REGION;
  if (!region) throw new RackSettingsError(['AWS_REGION']);
  const eks = new EKSClient({});
  const access = new EksClusterAccess({ eks, region, credentials: defaultProvider() });
  return { eks, api: access.kubernetesApi(settings.cluster) };
}

export function eksClusterPorts(settings: RackSettings, store: ReleaseStore): ClusterPorts {
  return clusterPortsOver(eksApi(settings).api, settings, store);
}

/** The same, with managed resources (RDS, ElastiCache) through CloudFormation: for the Provision step only. */
export function eksClusterPortsWithResources(settings: RackSettings, store: ReleaseStore): ClusterPorts {
  const { eks, api } = eksApi(settings);
  const managed = new CloudFormationResourceProvisioner(
    { cloudformation: new CloudFormationClient({}), eks, secrets: new SecretsManagerClient({}), rds: new RdsDescribeInstances(new RDSClient({})), subnets: new Ec2PrivateSubnets(new EC2Client({})) },
    { rack: settings.rackName, cluster: settings.cluster, render: { renderResourceStack, adoptedResource }, kubernetes: api, serviceRoleArn: settings.resourceRole },
  );
  return clusterPortsOver(api, settings, store, managed);
}

/** The runtime and provisioner over a cluster's API, rendering with the real renderer; a job reads its release's manifest from the store. */
export function clusterPortsOver(api: KubernetesApi, settings: RackSettings, store: ReleaseStore, managed?: Provisioner): ClusterPorts {
  const rack = { name: settings.rackName, ingressClass: settings.ingressClass };
  const render = { release: renderRelease, resources: renderResources, job: renderJob };
  const releaseManifest = async (app: string, release: ReleaseId): Promise<string> => {
    const r = await store.getRelease(app, release);
    const build = r ? await store.getBuild(app, r.build) : undefined;
    if (!build) throw new SlipwayError(`release ${release} of ${app} has no build record`, 'NOT_FOUND', { app, release });
    return build.manifest;
  };
  const containerised = new KubernetesProvisioner({ api, rack, render });
  // Managed resources (RDS, ElastiCache) beside the containerised ones, when the rack has them.
  return { runtime: new KubernetesRuntime({ api, rack, render, releaseManifest }), provisioner: managed ? new RackProvisioner(containerised, managed) : containerised };
}
