/** Timer: starts one run of a timer as a job (honouring its concurrency policy). */
import { startTimerRun } from '../../lib/pipeline/steps/timer';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('startTimerRun', startTimerRun, { cluster: eksClusterPorts });
