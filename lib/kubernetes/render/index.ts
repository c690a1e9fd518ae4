/**
 * Convox's meaning of a release, as Kubernetes objects: pure functions of the release, its
 * manifest, images, environment and the rack's settings. The same input always gives the same
 * objects in the same order, dependency order first (namespace, secrets, accounts, resources,
 * workloads, services, ingresses, autoscalers), so that an apply in order never waits on
 * something that comes later.
 *
 *   const objects = renderRelease({ rack, app, release, manifest, images, env, resourceCredentials });
 *
 * Timers are not rendered: the rack's scheduler runs each timer as a Job (`renderJob`).
 */
import type { Resource } from '../../manifest';
import type { KubernetesObject, RenderInput } from '../objects';
import type { AppContext } from './common';
import { appContext, compact, namespaceObject, RenderError } from './common';
import { hasHorizontalAutoscaler, renderHorizontalAutoscaler } from './autoscale';
import { renderBalancer } from './balancers';
import { envSecret, serviceEnvironment } from './environment';
import { renderIngress } from './ingress';
import { renderResourceObjects } from './resources';
import { withScaleOverrides } from './scale-overrides';
import { clusterService, serviceAccount, workload } from './service';

export { renderJob, JOB_TTL_SECONDS } from './jobs';
export { withScaleOverride, withScaleOverrides } from './scale-overrides';
export { RenderError, PROCESS_TYPE_LABEL, envSecretName } from './common';
export { provisionedResourceSecretName, resourceServiceName, isContainerised, isExternal } from './resources';

export type ResourcesRenderInput = Pick<RenderInput, 'rack' | 'app' | 'env' | 'resourceCredentials'> & { readonly resources: readonly Resource[] };

function resourceParts(ctx: AppContext, input: ResourcesRenderInput): ReturnType<typeof renderResourceObjects> {
  return renderResourceObjects(ctx, input.resources, input.env, input.resourceCredentials);
}

/**
 * The namespace and the containerised resources only: the provisioner applies these before the
 * release rolls out, so that databases are up when the services start.
 */
export function renderResources(input: ResourcesRenderInput): KubernetesObject[] {
  const ctx = appContext(input.rack, input.app);
  const { secrets, objects } = resourceParts(ctx, input);
  return compact([namespaceObject(ctx), ...secrets, ...objects]);
}

export function renderRelease(input: RenderInput): KubernetesObject[] {
  const ctx = appContext(input.rack, input.app);
  const release = input.release.id;
  const manifest = withScaleOverrides(input.manifest, input.scale);
  const resources = resourceParts(ctx, { ...input, resources: manifest.resources });

  const envSecrets: KubernetesObject[] = [];
  const accounts: KubernetesObject[] = [];
  const workloads: KubernetesObject[] = [];
  const services: KubernetesObject[] = [];
  const ingresses: KubernetesObject[] = [];
  const autoscalers: KubernetesObject[] = [];

  for (const service of manifest.services) {
    const image = input.images.find((i) => i.service === service.name)?.image;
    if (!image) {
      throw new RenderError(`release ${release} has no image for service ${service.name}: its build did not produce one`, 'IMAGE_MISSING', { app: input.app, release, service: service.name });
    }
    const environment = serviceEnvironment(ctx, manifest, service, input.release, input.env, input.resourceCredentials);
    envSecrets.push(envSecret(ctx, service, release, environment.values));
    accounts.push(serviceAccount(ctx, service, release));
    workloads.push(workload(ctx, service, { image, release, env: environment.references }));
    const cluster = clusterService(ctx, service, release);
    if (cluster) services.push(cluster);
    const ingress = renderIngress(ctx, service, release);
    if (ingress) ingresses.push(ingress);
    if (hasHorizontalAutoscaler(service)) autoscalers.push(renderHorizontalAutoscaler(ctx, service, release));
  }
  for (const balancer of manifest.balancers) services.push(renderBalancer(ctx, balancer, release));

  return compact([namespaceObject(ctx), ...resources.secrets, ...envSecrets, ...accounts, ...resources.objects, ...workloads, ...services, ...ingresses, ...autoscalers]);
}
