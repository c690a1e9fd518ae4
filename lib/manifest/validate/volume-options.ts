import type { AwsEfsVolume, AzureFilesVolume, EmptyDirVolume, VolumeOption } from '../types';
import { NAME } from './finding';
import { parseQuantity } from './go-parsers';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce'];
const GI = 2 ** 30;

function emptyDir(v: EmptyDirVolume): string | undefined {
  if ((v.id ?? '') === '') return 'emptyDir.id is required';
  if ((v.mountPath ?? '') === '') return 'emptyDir.mountPath is required';
  if ((v.medium ?? '') !== '' && v.medium !== 'Memory') return "emptyDir.medium's allowed values: Memory";
  if ((v.sizeLimit ?? '') !== '') {
    const q = parseQuantity(v.sizeLimit ?? '');
    if ('error' in q) return `emptyDir.sizeLimit is not a valid quantity: ${q.error}`;
  }
  return undefined;
}

function awsEfs(v: AwsEfsVolume): string | undefined {
  if ((v.id ?? '') === '') return 'awsEfs.id is required';
  if ((v.mountPath ?? '') === '') return 'awsEfs.mountPath is required';
  if (!ACCESS_MODES.includes(v.accessMode ?? '')) return `awsEfs.accessMode must be one of these values: ${ACCESS_MODES.join(', ')}`;
  return undefined;
}

function azureFiles(v: AzureFilesVolume): string | undefined {
  if ((v.id ?? '') === '') return 'azureFiles.id is required';
  if (!NAME.test(v.id ?? '')) return 'azureFiles.id must match ^[a-z][a-z0-9-]*$';
  if ((v.mountPath ?? '') === '') return 'azureFiles.mountPath is required';
  if (!ACCESS_MODES.includes(v.accessMode ?? '')) return `azureFiles.accessMode must be one of these values: ${ACCESS_MODES.join(', ')}`;
  if ((v.shareSize ?? '') !== '') {
    const q = parseQuantity(v.shareSize ?? '');
    if ('error' in q) return `azureFiles.shareSize is invalid: ${v.shareSize ?? ''}`;
    if (q.value < 100 * GI) return 'azureFiles.shareSize must be at least 100Gi (Azure Premium NFS minimum)';
  }
  return undefined;
}

/** The first problem of a volume option; only its first kind (emptyDir, awsEfs, azureFiles) is checked. */
export function volumeOptionProblem(v: VolumeOption): string | undefined {
  if (v.emptyDir) return emptyDir(v.emptyDir);
  if (v.awsEfs) return awsEfs(v.awsEfs);
  if (v.azureFiles) return azureFiles(v.azureFiles);
  return undefined;
}
