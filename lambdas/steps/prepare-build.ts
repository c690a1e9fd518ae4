/** Deploy: fetches and checks the bundle (safe extraction), validates convox.yml, plans the builds. */
import { prepareBuild } from '../../lib/pipeline/steps/deploy';
import { stepHandler } from '../shared/step-handler';

export const handler = stepHandler('prepareBuild', prepareBuild);
