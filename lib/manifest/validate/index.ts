/**
 * Convox's `Validate`: the rules a loaded manifest must satisfy, checked in Convox's order and
 * reported in its words, each pointed at the line that causes it.
 */
import type { Diagnostic } from '../diagnostics';
import { ManifestError } from '../diagnostics';
import type { LoadedManifest } from '../load';
import { positionOf } from '../load';
import { validateBalancers } from './balancers';
import { validateBudget } from './budget';
import { validateConfigs } from './configs';
import type { Finding } from './finding';
import { validateResources } from './resources';
import { validateServices } from './services';
import { validateTimers } from './timers';

export interface ValidationReport {
  readonly errors: readonly Diagnostic[];
  /** What Convox prints to stderr (agent autoscale ignored, unknown budget services). */
  readonly warnings: readonly Diagnostic[];
  /** `validation errors:\n...` as Convox prints it, when there are errors. */
  readonly convoxMessage?: string;
}

export function validateManifest(loaded: LoadedManifest): ValidationReport {
  const m = loaded.manifest;
  const budget = validateBudget(m);
  const services = validateServices(m);
  const errors: Finding[] = [...validateConfigs(m), ...validateBalancers(m), ...budget.errors, ...validateResources(m), ...services.errors, ...validateTimers(m)];
  const warnings: Finding[] = [...budget.warnings, ...services.warnings];
  const located = (f: Finding, severity: 'error' | 'warning'): Diagnostic => {
    const pos = positionOf({ positions: loaded.positions }, f.path);
    return {
      severity,
      code: 'convox-rule',
      message: f.message,
      path: f.path,
      ...(pos !== undefined ? { location: loaded.source.locate(pos) } : {}),
      ...(f.hint ? { hint: f.hint } : {}),
    };
  };
  return {
    errors: errors.map((f) => located(f, 'error')),
    warnings: warnings.map((f) => located(f, 'warning')),
    ...(errors.length > 0 ? { convoxMessage: `validation errors:\n${errors.map((e) => e.message).join('\n')}` } : {}),
  };
}

/** Validate and throw a ManifestError listing every problem when the manifest is invalid. */
export function assertValid(loaded: LoadedManifest): ValidationReport {
  const report = validateManifest(loaded);
  if (report.convoxMessage !== undefined) {
    throw new ManifestError('validate', report.convoxMessage, report.errors, [...loaded.warnings, ...report.warnings], loaded.source);
  }
  return report;
}
