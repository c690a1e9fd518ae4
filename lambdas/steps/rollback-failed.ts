/** Rollback: a failed rollback puts back what served before it. */
import { rollbackFailed } from '../../lib/pipeline/steps/rollback';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('rollbackFailed', rollbackFailed, { cluster: eksClusterPorts });
