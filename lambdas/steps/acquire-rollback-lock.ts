/** Rollback: takes the app's lock for a console rollback. */
import { acquireRollbackLock } from '../../lib/pipeline/steps/rollback';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('acquireRollbackLock', acquireRollbackLock);
