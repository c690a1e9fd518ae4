export * from './kubernetes-api';
export { ClientNodeKubernetesApi, apiError, type KubeConfigSource } from './client-node-api';
