/** Deploy and Rollback: the health gates (health paths, a bake period without restarts, alarms). */
import { healthGate } from '../../lib/pipeline/steps/deploy';
import { eksClusterPorts } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('healthGate', healthGate, { cluster: eksClusterPorts });
