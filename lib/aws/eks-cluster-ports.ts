/**
 * The runtime and provisioner in the rack's EKS cluster, for the steps with the `cluster`
 * capability only: the endpoint from DescribeCluster, a token signed with the function's own role
 * (its access entry admits it to the rack's namespaces).
 */
import { EKSClient } from '@aws-sdk/client-eks';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SlipwayError } from '../errors';
import type { KubernetesApi } from '../kubernetes/api/kubernetes-api';
import { KubernetesProvisioner, KubernetesRuntime } from '../kubernetes/kubernetes-runtime';
import { renderJob, renderRelease, renderResources } from '../kubernetes/render';
import type { ReleaseId } from '../pipeline/domain/ids';
import type { ReleaseStore } from '../pipeline/stores/release-store';
import { EksClusterAccess } from './eks';
import type { ClusterPorts, RackSettings } from './rack-context';
import { RackSettingsError } from './rack-context';

export function eksClusterPorts(settings: RackSettings, store: ReleaseStore): ClusterPorts {
  const region = process.env.AWS_REGION;
  if (!region) throw new RackSettingsError(['AWS_REGION']);
  const access = new EksClusterAccess({ eks: new EKSClient({}), region, credentials: defaultProvider() });
  return clusterPortsOver(access.kubernetesApi(settings.cluster), settings, store);
}

/** The runtime and provisioner over a cluster's API, rendering with the real renderer; a job reads its release's manifest from the store. */
export function clusterPortsOver(api: KubernetesApi, settings: RackSettings, store: ReleaseStore): ClusterPorts {
  const rack = { name: settings.rackName, ingressClass: settings.ingressClass };
  const render = { release: renderRelease, resources: renderResources, job: renderJob };
  const releaseManifest = async (app: string, release: ReleaseId): Promise<string> => {
    const r = await store.getRelease(app, release);
    const build = r ? await store.getBuild(app, r.build) : undefined;
    if (!build) throw new SlipwayError(`release ${release} of ${app} has no build record`, 'NOT_FOUND', { app, release });
    return build.manifest;
  };
  return { runtime: new KubernetesRuntime({ api, rack, render, releaseManifest }), provisioner: new KubernetesProvisioner({ api, rack, render }) };
}
