/** Cleanup: lists the apps to clean up. */
import { listApps } from '../../lib/pipeline/steps/cleanup';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('listApps', listApps);
