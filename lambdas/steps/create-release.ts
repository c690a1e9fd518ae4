/** Deploy: records the new immutable release (build + environment version). */
import { createRelease } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('createRelease', createRelease);
