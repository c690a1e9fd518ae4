/** Rollback: creates the new release copied from the target (its images and env, no rebuild). */
import { prepareRollback } from '../../lib/pipeline/steps/rollback';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('prepareRollback', prepareRollback);
