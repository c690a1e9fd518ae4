/** The rack's configuration from cdk context: defaults, and refusals that name the key. */
import { describe, expect, it } from 'vitest';
import { AWS_DEPLOY_DEFAULTS, rackConfig } from '../../lib/aws/rack-config';

const from = (context: Record<string, unknown>) => () => rackConfig((key) => context[key]);

describe('rackConfig (cdk context)', () => {
  it('imports the named cluster with the defaults', () => {
    expect(from({ 'slipway:clusterName': 'apps' })()).toEqual({
      rackName: 'slipway',
      cluster: { mode: 'import', name: 'apps' },
      ingressClass: 'alb',
      logRetentionDays: 30,
      deploy: AWS_DEPLOY_DEFAULTS,
      cleanup: { keepReleases: 20, jobRetentionHours: 72, graceHours: 24 },
    });
  });

  it('creates a cluster when asked, and takes the alert settings and deploy overrides', () => {
    const config = from({ 'slipway:createCluster': 'true', 'slipway:kubernetesVersion': '1.34', 'slipway:alertEmail': 'ops@example.com', 'slipway:alertWebhookUrl': 'https://hooks.example.com/T/B/x', 'slipway:deploy': { bakeSeconds: 120, alarmNames: ['api-5xx'] } })();
    expect(config.cluster).toEqual({ mode: 'create', version: '1.34' });
    expect(config).toMatchObject({ alertEmail: 'ops@example.com', alertWebhookUrl: 'https://hooks.example.com/T/B/x', deploy: { ...AWS_DEPLOY_DEFAULTS, bakeSeconds: 120, alarmNames: ['api-5xx'] } });
  });

  it.each([
    [{ 'slipway:rackName': 'Prod', 'slipway:clusterName': 'a' }, 'cdk context slipway:rackName: "Prod" is not a rack name'],
    [{}, 'cdk context slipway:clusterName: is not set'],
    [{ 'slipway:createCluster': true, 'slipway:clusterName': 'a' }, 'cdk context slipway:createCluster: is true, but slipway:clusterName names an existing cluster'],
    [{ 'slipway:clusterName': 'a', 'slipway:clusterVpcId': 'vpc-xyz' }, 'cdk context slipway:clusterVpcId: "vpc-xyz" is not a VPC id'],
    [{ 'slipway:clusterName': 'a', 'slipway:alertWebhookUrl': 'http://hooks.example.com' }, 'cdk context slipway:alertWebhookUrl: must be an https:// URL'],
    [{ 'slipway:clusterName': 'a', 'slipway:alertEmail': 'ops' }, 'cdk context slipway:alertEmail: "ops" is not an e-mail address'],
    [{ 'slipway:clusterName': 'a', 'slipway:logRetentionDays': 10 }, 'cdk context slipway:logRetentionDays: CloudWatch Logs keeps logs for one of'],
    [{ 'slipway:clusterName': 'a', 'slipway:deploy': { pollSecond: 5 } }, 'cdk context slipway:deploy.pollSecond: is not a deploy setting'],
    [{ 'slipway:clusterName': 'a', 'slipway:deploy': { bakeSeconds: -1 } }, 'cdk context slipway:deploy.bakeSeconds: must be a whole number of seconds from 0 to 3600'],
    [{ 'slipway:clusterName': 'a', 'slipway:deploy': { leaseSeconds: 120, queuePollSeconds: 60 } }, 'cdk context slipway:deploy.leaseSeconds: must be at least four poll intervals'],
  ])('refuses %j, naming the key', (context, message) => {
    expect(from(context)).toThrow(message);
  });

  it('never quotes a webhook URL in its error (it carries a token)', () => {
    expect(from({ 'slipway:clusterName': 'a', 'slipway:alertWebhookUrl': 'http://hooks.example.com/secret-token' })).toThrow(/^(?!.*secret-token)/);
  });
});
