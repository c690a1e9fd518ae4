/** Cleanup: prunes one app's old releases, builds, bundles, images and jobs; frees an expired lock. */
import { cleanupApp } from '../../lib/pipeline/steps/cleanup';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('cleanupApp', cleanupApp, { cluster: eksClusterPorts });
