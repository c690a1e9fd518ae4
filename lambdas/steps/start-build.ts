/** Deploy: starts one build unit's image build. */
import { startBuild } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('startBuild', startBuild);
