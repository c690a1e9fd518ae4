/** Deploy: creates or updates the app's resources (polled until they are ready). */
import { provision } from '../../lib/pipeline/steps/deploy';
import { eksClusterPortsWithResources } from '../../lib/aws/eks-cluster-ports';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('provision', provision, { cluster: eksClusterPortsWithResources });
