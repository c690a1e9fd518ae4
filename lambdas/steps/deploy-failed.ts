/** Deploy: a deploy that failed before its rollout: says why and frees the app. */
import { deployFailed } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('deployFailed', deployFailed);
