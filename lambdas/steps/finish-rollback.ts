/** Rollback: promotes the copy and pins the app. */
import { finishRollback } from '../../lib/pipeline/steps/rollback';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('finishRollback', finishRollback);
