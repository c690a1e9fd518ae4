// eks-kubeconfig.ts is left out on purpose: it imports @kubernetes/client-node, which the step
// Lambdas, importing this index, must not bundle.
export { eksToken, stsHost, EKS_TOKEN_PREFIX, EKS_TOKEN_LIFETIME_MS, CLUSTER_ID_HEADER, type AwsCredentials, type EksToken, type EksTokenRequest } from './eks-token';
export { EksClusterAccess, EksAccessError, TOKEN_REFRESH_AFTER_MS, type ClusterEndpoint, type EksClusterAccessOptions } from './eks-cluster-access';
