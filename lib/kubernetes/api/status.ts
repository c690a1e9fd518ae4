/**
 * How an answer of the API server becomes Slipway's typed errors, for every adapter of the
 * port: the HTTP status and the `Status` body the server sends with it decide the error, and
 * a refused server-side apply names the field managers and fields it conflicts with.
 */
import type { FieldConflict, ObjectRef } from './kubernetes-api';
import { ApplyConflictError, describeRef, KubernetesApiError, KubernetesNotFoundError } from './kubernetes-api';

/** The parts of a `meta/v1 Status` body that Slipway reads. */
export interface StatusBody {
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[] };
}

/** A Status body as JSON text or already parsed; a body that is not JSON is kept (shortened) as its message. */
export function statusOf(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? parsed : { message: body.slice(0, 500) };
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  return typeof body === 'object' && body !== null ? body : {};
}

/** The typed error for an unsuccessful answer (`code`, with its body) to `verb` the object `ref`. */
export function statusError(code: number, body: unknown, ref: ObjectRef, verb: string, cause?: unknown): KubernetesApiError {
  const status = statusOf(body);
  const what = describeRef(ref);
  const context = { object: what, reason: status.reason };
  const options = cause === undefined ? undefined : { cause };
  if (code === 409 && status.details?.causes?.some((c) => c.reason === 'FieldManagerConflict')) {
    const conflicts: FieldConflict[] = (status.details.causes ?? [])
      .filter((c) => c.reason === 'FieldManagerConflict')
      .map((c) => ({ manager: /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1] ?? 'unknown', field: c.field ?? '' }));
    return new ApplyConflictError(ref, conflicts, options);
  }
  if (code === 404) return new KubernetesNotFoundError(status.message ? `${what} (${status.message})` : what, context, options);
  if (code === 401 || code === 403) {
    return new KubernetesApiError(`the cluster refused to let Slipway ${verb} ${what} (HTTP ${code}: ${status.message ?? 'no message'}): check the rack's access to the cluster`, code, context, options);
  }
  return new KubernetesApiError(`could not ${verb} ${what}: HTTP ${code}: ${status.message ?? 'no message'}`, code, context, options);
}

/** The typed error for a request that got no answer at all (connection, TLS, timeout). */
export function transportError(error: unknown, ref: ObjectRef, verb: string): KubernetesApiError {
  if (error instanceof KubernetesApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new KubernetesApiError(`could not ${verb} ${describeRef(ref)}: ${message}`, 0, { object: describeRef(ref) }, { cause: error });
}
