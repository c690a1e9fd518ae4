/** Deploy: after a failed rollout or gate, rolls the previous release back in and alerts. */
import { rollBack } from '../../lib/pipeline/steps/deploy';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('rollBack', rollBack, { cluster: eksClusterPorts });
