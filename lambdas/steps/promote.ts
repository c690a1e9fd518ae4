/** Deploy: makes the release current, reconciles the timers' schedules, frees the app. */
import { promote } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('promote', promote);
