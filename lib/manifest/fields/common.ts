/** Field types shared by several sections: annotations, volume options, config mounts. */
import type { Codec } from '../decode/codec';
import { field, generic, goString, list, pointer, struct } from '../decode/codec';
import { DecodeAbort } from '../decode/session';
import type { Annotation, AwsEfsVolume, AzureFilesVolume, ConfigMount, EmptyDirVolume, VolumeOption } from '../types';
import { goTypeName } from '../yaml/go-format';
import { keyText } from '../yaml/go-value';

/**
 * `annotations` / `ingressAnnotations`: a list of `"key=value"` strings or `{key: value}` maps.
 * Note that `{key: a, value: b}` is two annotations (`key=a`, `value=b`), not one.
 */
export const annotations: Codec<Annotation[]> = {
  goType: 'manifest.Annotations',
  decode(raw, ctx) {
    const value = generic(raw, ctx);
    if (value.kind !== 'seq') {
      const tag = value.kind === 'map' ? '!!map' : value.kind === 'string' ? '!!str' : `!!${value.kind}`;
      const text = 'text' in value ? value.text : '';
      const shown = 'text' in value ? ` \`${text.length > 10 ? `${text.slice(0, 7)}...` : text}\`` : '';
      throw new DecodeAbort(
        `failed to unmarshal annotations: yaml: unmarshal errors:\n  line 1: cannot unmarshal ${tag}${shown} into []interface {}`,
        value.pos,
        ctx.path,
        'write annotations as a list: - key=value',
        'wrong-type',
      );
    }
    const out: Annotation[] = [];
    for (const item of value.items) {
      if (item.kind === 'string') {
        const at = item.value.indexOf('=');
        if (at < 0) throw new DecodeAbort(`invalid annotation format: ${item.value}`, item.pos, ctx.path, 'write each annotation as key=value');
        out.push({ key: item.value.slice(0, at), value: item.value.slice(at + 1) });
      } else if (item.kind === 'map') {
        for (const e of item.entries) {
          if (e.key.kind !== 'string') throw new DecodeAbort(`annotation key is not a string: ${keyText(e.key)}`, e.key.pos, ctx.path, 'quote the annotation key');
          if (e.value.kind !== 'string') {
            throw new DecodeAbort(`annotation value is not a string: ${e.key.value}`, e.value.pos, ctx.path, 'quote the annotation value, e.g. "true" or "10"');
          }
          if ((e.key.value === 'key' || e.key.value === 'value') && item.entries.length === 2) {
            ctx.session.warn('suspicious', e.key.pos, ctx.path, `${ctx.path}: {key: ..., value: ...} makes two annotations named "key" and "value", not one`, 'write the annotation as "name=value" or {name: value}');
          }
          out.push({ key: e.key.value, value: e.value.value });
        }
      } else {
        throw new DecodeAbort(`unsupported annotation type: ${goTypeName(item)}`, item.pos, ctx.path, 'write each annotation as key=value');
      }
    }
    return out;
  },
  zero: () => undefined,
  schema: () => ({
    type: 'array',
    items: {
      anyOf: [
        { type: 'string', pattern: '^[^=]+=' },
        { type: 'object', additionalProperties: { type: 'string' } },
      ],
    },
  }),
};

const emptyDir = struct<EmptyDirVolume>(
  'manifest.VolumeEmptyDir',
  {
    id: field(goString, 'Volume name.'),
    mountPath: field(goString, 'Where the volume is mounted in the container.'),
    medium: field(goString, 'Storage medium: empty for the node disk, or Memory.'),
    sizeLimit: field(goString, 'Size limit as a Kubernetes quantity, e.g. 1Gi.'),
  },
  { defName: 'volumeEmptyDir' },
);

const awsEfs = struct<AwsEfsVolume>(
  'manifest.VolumeAwsEfs',
  {
    id: field(goString, 'Volume name.'),
    mountPath: field(goString, 'Where the volume is mounted in the container.'),
    accessMode: field(goString, 'ReadOnlyMany, ReadWriteMany or ReadWriteOnce.'),
    storageClass: field(goString, 'Kubernetes storage class.'),
    volumeHandle: field(goString, 'An existing EFS file system (and access point) to use.'),
  },
  { defName: 'volumeAwsEfs' },
);

const azureFiles = struct<AzureFilesVolume>(
  'manifest.VolumeAzureFiles',
  {
    id: field(goString, 'Volume name (lower case, digits and dashes).'),
    mountPath: field(goString, 'Where the volume is mounted in the container.'),
    accessMode: field(goString, 'ReadOnlyMany, ReadWriteMany or ReadWriteOnce.'),
    shareSize: field(goString, 'Share size, at least 100Gi.'),
  },
  { defName: 'volumeAzureFiles' },
);

export const volumeOptions = list(
  struct<VolumeOption>(
    'manifest.VolumeOption',
    {
      emptyDir: field(pointer(emptyDir), 'A scratch volume that lives as long as the pod.'),
      awsEfs: field(pointer(awsEfs), 'A shared Amazon EFS volume.'),
      azureFiles: field(pointer(azureFiles), 'A shared Azure Files volume.'),
    },
    { defName: 'volumeOption' },
  ),
  '[]manifest.VolumeOption',
);

export const configMounts = list(
  struct<ConfigMount>(
    'manifest.ConfigMount',
    {
      id: field(goString, 'The id of an entry of the top-level configs list.'),
      dir: field(goString, 'Directory to mount the config file in.'),
      filename: field(goString, 'File name of the mounted config.'),
    },
    { defName: 'configMount' },
  ),
  '[]manifest.ConfigMount',
);
