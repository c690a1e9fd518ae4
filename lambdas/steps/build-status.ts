/** Deploy: polls one build unit's image build. */
import { buildStatus } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('buildStatus', buildStatus);
