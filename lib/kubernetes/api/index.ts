// Code on the step Lambdas' path imports './https-api' and './kubernetes-api' directly, not this
// index: it re-exports ClientNodeKubernetesApi, which would bring @kubernetes/client-node along.
export * from './kubernetes-api';
export { statusError, transportError, statusOf, type StatusBody } from './status';
export { HttpsKubernetesApi, KubernetesUnknownKindError, type HttpsKubernetesApiOptions, type KubernetesConnection, type KubernetesConnectionSource } from './https-api';
export { ClientNodeKubernetesApi, apiError, type KubeConfigSource } from './client-node-api';
