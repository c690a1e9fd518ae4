/**
 * The local rack's resources: real database servers on 127.0.0.1, one per resource.
 *
 *   const resources = new LocalResources({ stateDir, onOutput });
 *   await resources.ensure(app, manifest.resources, env);        // poll until ready
 *   const env = await resources.linkEnv(app, service.resources, env);
 *   await resources.stop();
 */
export { LocalResources, type LocalResourcesOptions, type ResourceOutputLine } from './local-resources';
export type { LocalResourceBinaries, ResourceCredentials, ResourceKind, EngineName } from './engine';
export { KIND_OF_TYPE } from './engine';
export * from './errors';
