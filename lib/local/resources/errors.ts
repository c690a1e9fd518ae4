/**
 * Errors of the local rack's resources. Messages say what to do; none carries a password (the
 * output lines quoted in a start failure are redacted before they are kept).
 */
import { SlipwayError } from '../../errors';

/** The manifest names a resource type the local rack cannot run. */
export class UnknownResourceTypeError extends SlipwayError {
  constructor(app: string, resource: string, type: string, known: readonly string[]) {
    super(`resource ${resource} of app ${app} has type ${type}, which the local rack cannot run (it runs ${known.join(', ')})`, 'RESOURCE_TYPE_UNKNOWN', { app, resource, type });
  }
}

/** The server program a resource needs is not installed on this machine. */
export class ResourceBinaryMissingError extends SlipwayError {
  constructor(app: string, resource: string, type: string, binary: string, install: string, lookedAt?: string) {
    const where = lookedAt ? ` (looked for it at ${lookedAt})` : '';
    super(`${type} resource ${resource} needs ${binary}${where}: install it (${install})`, 'RESOURCE_BINARY_MISSING', { app, resource, type, binary });
  }
}

/** The resource exists with data of another kind: changing its type would lose that data. */
export class ResourceTypeChangedError extends SlipwayError {
  constructor(app: string, resource: string, was: string, now: string, dir: string) {
    super(
      `resource ${resource} of app ${app} holds ${was} data but the manifest now says type ${now}; the local rack does not replace it, so its data is kept: rename the resource, or delete the old one first (slipway resources remove, or delete ${dir})`,
      'RESOURCE_TYPE_CHANGED',
      { app, resource, was, now, dir },
    );
  }
}

/** This machine cannot run the server as configured (permissions, users). */
export class ResourceHostError extends SlipwayError {
  constructor(app: string, resource: string, problem: string) {
    super(`resource ${resource} of app ${app}: ${problem}`, 'RESOURCE_HOST', { app, resource });
  }
}

/** A server did not come up: its initialisation failed, it exited, or it never answered. */
export class ResourceStartError extends SlipwayError {
  constructor(app: string, resource: string, problem: string, logFile: string, lastLines: readonly string[] = []) {
    const tail = lastLines.length > 0 ? `; its last output:\n  ${lastLines.join('\n  ')}` : '';
    super(`resource ${resource} of app ${app} did not start: ${problem} (log: ${logFile})${tail}`, 'RESOURCE_START_FAILED', { app, resource, logFile });
  }
}

/** A service links a resource that the local rack has not created. */
export class ResourceNotFoundError extends SlipwayError {
  constructor(app: string, resource: string) {
    super(`resource ${resource} of app ${app} does not exist on the local rack (it is created by a deploy whose manifest lists it)`, 'RESOURCE_NOT_FOUND', { app, resource });
  }
}

/** App and resource names become folder names, so they are checked before any path is built. */
export class ResourceNameError extends SlipwayError {
  constructor(kind: 'app' | 'resource', name: string) {
    super(`${kind} name ${JSON.stringify(name)} cannot name a resource folder (use letters, digits, dashes and underscores)`, 'RESOURCE_NAME_INVALID', { kind, name });
  }
}
