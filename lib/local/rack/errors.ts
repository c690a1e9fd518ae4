/** Errors of the local rack that both its server and the CLI's connection to it name. */
import { SlipwayError } from '../../errors';

/** `apps cancel` when the app has no deploy to cancel. */
export class NoDeployRunningError extends SlipwayError {
  constructor(app: string) {
    super(`no deploy of ${app} is running`, 'NO_DEPLOY_RUNNING', { app });
  }
}
