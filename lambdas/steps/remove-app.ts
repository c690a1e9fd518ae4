/** Cleanup machine, on request (`slipway apps delete`): deletes an app, its processes, timers, images and records. */
import { removeApp } from '../../lib/pipeline/steps/cleanup';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('removeApp', removeApp, { cluster: eksClusterPorts });
