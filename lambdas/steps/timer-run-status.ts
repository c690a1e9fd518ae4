/** Timer: polls a timer's run. */
import { timerRunStatus } from '../../lib/pipeline/steps/timer';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('timerRunStatus', timerRunStatus, { cluster: eksClusterPorts });
