/** Deploy and Rollback: rolls a release out to the runtime. */
import { apply } from '../../lib/pipeline/steps/deploy';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('apply', apply, { cluster: eksClusterPorts });
