/** Deploy: ends a build-only upload (`slipway build`) after its release is created: frees the app, promotes nothing. */
import { finishBuild } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('finishBuild', finishBuild);
