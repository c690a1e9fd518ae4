/** Cleanup machine, on request (`slipway ps`): lists an app's processes from the cluster; read-only. */
import { queryProcesses } from '../../lib/pipeline/steps/cleanup';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('queryProcesses', queryProcesses, { cluster: eksClusterPorts });
