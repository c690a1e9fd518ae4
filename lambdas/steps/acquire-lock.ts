/** Deploy: takes the app's deploy lock, or queues behind the deploy that holds it (only the newest queued upload runs). */
import { acquireLock } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('acquireLock', acquireLock);
