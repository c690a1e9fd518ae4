/**
 * JSON Schema for convox.yml, generated from the same field tables the decoder uses. Editors with
 * the YAML language server use it for completion, hover docs and checks; a property the schema
 * does not allow is one our loader warns about (Convox silently ignores it).
 */
import { SchemaRegistry } from '../decode/codec';
import type { JsonSchema } from '../decode/codec';
import { manifestFields } from '../fields/manifest';

export const SCHEMA_ID = 'https://slipway.dev/schema/convox.schema.json';

export function generateSchema(): JsonSchema {
  const registry = new SchemaRegistry();
  manifestFields.schema(registry);
  // Draft-07, which the YAML language server understands; the root is the manifest definition
  // itself because draft-07 ignores keywords next to a root $ref.
  const { manifest: root, ...definitions } = registry.defs;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'convox.yml',
    ...root,
    description: 'A Convox-compatible app manifest, as read by Slipway. Generated from lib/manifest/fields by `npm run schema:build`; do not edit by hand.',
    definitions: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))),
  };
}
