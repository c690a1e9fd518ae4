export { eksToken, stsHost, EKS_TOKEN_PREFIX, EKS_TOKEN_LIFETIME_MS, CLUSTER_ID_HEADER, type AwsCredentials, type EksToken, type EksTokenRequest } from './eks-token';
export { EksClusterAccess, EksAccessError, TOKEN_REFRESH_AFTER_MS, type ClusterEndpoint, type EksClusterAccessOptions } from './eks-cluster-access';
