/**
 * The CodeBuild project every image build runs in. It is generic: each StartBuild carries the
 * buildspec (lib/aws/build/buildspec.ts) and the build's settings as variables (see
 * CodeBuildBuilder), so the project only fixes what a build runs on and what it may touch: read
 * bundle versions under apps/, push to the rack's app repositories.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { BuildSpec, Cache, ComputeType, LinuxBuildImage, LocalCacheMode, Project } from 'aws-cdk-lib/aws-codebuild';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { buildspec } from './build/buildspec';
import { acknowledgeWildcards, arnRef, nagArn as arn } from './nag';
import { BUNDLE_PREFIX } from '../pipeline/bundle/key';

export interface RackBuildsProps {
  readonly rackName: string;
  readonly bundles: IBucket;
  /** Encrypts the build's logs and artifacts (the rack key). */
  readonly key: IKey;
  /** App repositories are `<repositoryPrefix><app>`. */
  readonly repositoryPrefix: string;
  readonly logRetention: RetentionDays;
  /** CodeBuild compute size (default MEDIUM: 7 GB, 4 vCPUs). */
  readonly computeType?: ComputeType;
  /** The longest one build may take (default 60 minutes). */
  readonly timeout?: Duration;
}

export class RackBuilds extends Construct {
  readonly project: Project;
  readonly projectName: string;

  constructor(scope: Construct, id: string, props: RackBuildsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.projectName = `slipway-${props.rackName}-builds`;
    const logs = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.project = new Project(this, 'Project', {
      projectName: this.projectName,
      description: `Slipway ${props.rackName}: builds app images from bundles`,
      // Replaced on every StartBuild by the same generated text; set here so the console shows it.
      buildSpec: BuildSpec.fromObjectToYaml(buildspec()),
      environment: {
        buildImage: LinuxBuildImage.STANDARD_7_0,
        computeType: props.computeType ?? ComputeType.MEDIUM,
        // Docker builds need the daemon.
        privileged: true,
      },
      cache: Cache.local(LocalCacheMode.DOCKER_LAYER),
      encryptionKey: props.key,
      timeout: props.timeout ?? Duration.minutes(60),
      logging: { cloudWatch: { logGroup: logs } },
    });
    const role = this.project.role;
    if (!role) throw new Error('the build project has no role');
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [props.bundles.arnForObjects(`${BUNDLE_PREFIX}*`)] }));
    const repositories = stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: `${props.repositoryPrefix}*` });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:GetDownloadUrlForLayer',
          'ecr:InitiateLayerUpload',
          'ecr:UploadLayerPart',
          'ecr:CompleteLayerUpload',
          'ecr:PutImage',
        ],
        resources: [repositories],
      }),
    );
    // The registry login token is account-wide: ECR has no resource for it.
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));

    const project = arnRef(this.project).replace('.Arn>', '>');
    acknowledgeWildcards(this.project, ['Resource::*'], 'ecr:GetAuthorizationToken (the docker login) has no resource-level permissions');
    acknowledgeWildcards(this.project, [`Resource::${arn('logs')}log-group:/aws/codebuild/${project}:*`, `Resource::${arn('codebuild')}report-group/${project}-*`], 'CDK’s default grants for the project’s own log group and report groups, named after the project');
    acknowledgeWildcards(this.project, ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'], 'CDK’s grant on the rack key the project encrypts its logs and cache with');
    acknowledgeWildcards(this.project, [`Resource::${arnRef(props.bundles)}/${BUNDLE_PREFIX}*`], 'bundles of any app: one generic project builds every app; each build fetches the exact object version it was started with');
    acknowledgeWildcards(this.project, [`Resource::${arn('ecr')}repository/${props.repositoryPrefix}*`], 'pushes to the rack’s app repositories only (one per app, created on its first build)');
  }
}
