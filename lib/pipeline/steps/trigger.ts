/**
 * What an upload starts: the Deploy machine, with an execution name derived from the object
 * version (so a repeated event starts nothing new) and the rack's deploy settings. The AWS rack's
 * trigger Lambda and the local rack's bundle folder both start deploys through this.
 */
import { BundleKeyError, deployExecutionName, parseBundleKey } from '../bundle/key';
import type { ObjectCreatedEvent } from '../ports/bundle-store';
import type { DeployConfig } from './deploy';

export type DeployTrigger = { readonly start: true; readonly name: string; readonly input: { readonly event: ObjectCreatedEvent; readonly config: DeployConfig } } | { readonly start: false; readonly reason: string };

export function deployTrigger(event: ObjectCreatedEvent, config: DeployConfig): DeployTrigger {
  const { bucket, object } = event.detail;
  try {
    parseBundleKey(object.key);
  } catch (e) {
    if (!(e instanceof BundleKeyError)) throw e;
    // Not a bundle: objects outside apps/<app>/bundles/ never start a deploy.
    return { start: false, reason: e.message };
  }
  if (!object['version-id']) return { start: false, reason: `${object.key} has no version id: the bundle bucket must be versioned` };
  return { start: true, name: deployExecutionName(bucket.name, object.key, object['version-id']), input: { event, config } };
}
