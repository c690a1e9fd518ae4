/**
 * Managed resources on AWS: the shared contract and the renderer of their CloudFormation stacks.
 * The template check (template-check.ts) is left out on purpose: it loads the CloudFormation
 * schemas, a development dependency too heavy for the provisioner's Lambda, so only tests and
 * tooling import it, by its own path.
 */
export {
  MANAGED_RESOURCE_TYPES,
  RESOURCE_OUTPUTS,
  RESOURCE_STACK_TAGS,
  isManagedResource,
  resourceStackName,
  type ManagedResourceInput,
  type ManagedResourceStack,
  type ManagedResourceType,
  type ResourceNetwork,
} from './managed-resource';
export {
  AdoptedResourceError,
  ResourceNameError,
  ResourceNetworkError,
  ResourceOptionError,
  adoptedResource,
  renderResourceStack,
  resourceSettings,
  type DatabaseEngine,
  type DatabaseSettings,
  type MemcachedSettings,
  type RedisSettings,
  type ResourceSettings,
} from './render';
