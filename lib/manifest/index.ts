/**
 * Slipway's manifest engine: reads `convox.yml` exactly as Convox does, and explains a bad one
 * with the file, line and column of every problem.
 *
 *   const loaded = loadManifest(text, { env, file: 'convox.yml' });   // throws ManifestError
 *   const report = assertValid(loaded);                               // throws ManifestError
 */
export { loadManifest, type LoadedManifest, type LoadOptions } from './load';
export { MAX_MANIFEST_BYTES } from './limits';
export { validateManifest, assertValid, type ValidationReport } from './validate';
export { ManifestError, ManifestSource, formatDiagnostic, type Diagnostic, type DiagnosticCode, type SourceLocation } from './diagnostics';
export { manifestToJson } from './json';
export { resolveServiceEnvironment, environmentDefaults, environmentKeys, type Env } from './environment';
export { resourceLinks, resourceEnvPrefix, agents, buildHash, RESOURCE_ENV_SUFFIXES, type ResourceEnvLink } from './derived';
export { autoscaleEnabled, normaliseSchedule } from './defaults';
export type * from './types';
