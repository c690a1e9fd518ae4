/** Deploy and Rollback: polls the rollout; fails fast on crash loops, image pull errors, missed deadlines. */
import { rolloutStatus } from '../../lib/pipeline/steps/deploy';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('rolloutStatus', rolloutStatus, { cluster: eksClusterPorts });
