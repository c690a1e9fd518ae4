/** The CDK app (`npx cdk synth`, `npx cdk deploy`): one Slipway rack, configured in cdk.json's context. */
import { App } from 'aws-cdk-lib';
import { RackStack } from '../lib/aws/rack-stack';

const app = new App();
const rackName = (app.node.tryGetContext('slipway:rackName') as string | undefined) ?? 'slipway';
new RackStack(app, `Slipway-${rackName}`, { rackName });
app.synth();
