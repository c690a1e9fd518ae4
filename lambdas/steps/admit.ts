/** Deploy: checks the upload (its key, its app, whether the app is pinned) before it queues. */
import { admit } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('admit', admit);
