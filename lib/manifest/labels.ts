/** Labels: the top-level `labels` are added to every service that does not set the same key. */
import type { Service } from './types';

/** Keys Convox sets on every object it creates; a manifest may not use them. */
export const RESERVED_LABELS = ['system', 'rack', 'app', 'name', 'service', 'release', 'type'] as const;

export interface ReservedLabel {
  readonly key: string;
  /** Dotted path of the labels map that holds it. */
  readonly path: string;
}

/** Merge the global labels into each service; returns the first reserved key found, if any. */
export function combineLabels(services: Service[], global: Readonly<Record<string, string>> | undefined): ReservedLabel | undefined {
  const reserved = (labels: Readonly<Record<string, string>>): string | undefined => Object.keys(labels).find((k) => (RESERVED_LABELS as readonly string[]).includes(k));
  const globalLabels = global ?? {};
  const top = reserved(globalLabels);
  if (top !== undefined) return { key: top, path: 'labels' };
  for (const s of services) {
    const own = s.labels ?? {};
    const bad = reserved(own);
    if (bad !== undefined) return { key: bad, path: `services.${s.name}.labels` };
    if (Object.keys(globalLabels).length > 0 || s.labels) {
      const merged = { ...own };
      for (const [k, v] of Object.entries(globalLabels)) if (!(k in merged)) merged[k] = v;
      s.labels = merged;
    }
  }
  return undefined;
}
