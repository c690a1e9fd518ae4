/** The CDK app (`npx cdk synth`, `npx cdk deploy`): one Slipway rack, configured in cdk.json's context. */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { rackConfig } from '../lib/aws/rack-config';
import { RackStack } from '../lib/aws/rack-stack';

const app = new App();
// Every synth is checked against cdk-nag's AWS Solutions rules; a finding fails it unless acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const config = rackConfig((key) => app.node.tryGetContext(key));
new RackStack(app, `Slipway-${config.rackName}`, { config });
app.synth();
