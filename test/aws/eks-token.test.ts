/**
 * The EKS bearer token, checked against the aws4 package's SigV4 presigning (an independent
 * implementation), and the cluster access that caches DescribeCluster and renews tokens
 * (EKS: aws-sdk-client-mock), whose Kubernetes API is tried on a real HTTP server.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import aws4 from 'aws4';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EksAccessError, EksClusterAccess } from '../../lib/aws/eks/eks-cluster-access';
import { eksKubeConfig } from '../../lib/aws/eks/eks-kubeconfig';
import { eksToken } from '../../lib/aws/eks/eks-token';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = new Date('2025-03-01T12:00:00Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/** The same request presigned by aws4, as its query parameters. */
function aws4Query(cluster: string, region: string, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): Record<string, string> {
  const signed = aws4.sign(
    {
      host: `sts.${region}.amazonaws.com`,
      path: '/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60&X-Amz-Date=20250301T120000Z',
      service: 'sts',
      region,
      method: 'GET',
      headers: { 'x-k8s-aws-id': cluster },
      signQuery: true,
    },
    creds,
  );
  return Object.fromEntries(new URL(`https://${signed.host}${signed.path}`).searchParams);
}

describe('eksToken', () => {
  it('is the presigned GetCallerIdentity URL aws4 makes independently, signature included', async () => {
    const { token, expiresAt } = await eksToken({ cluster: 'prod', region: 'eu-west-1', credentials, now: NOW });
    const url = decode(token);
    expect(Object.fromEntries(url.searchParams)).toEqual(aws4Query('prod', 'eu-west-1', credentials));
    expect(expiresAt.toISOString()).toBe('2025-03-01T12:14:00.000Z');
  });

  it('carries and signs a session token of temporary credentials', async () => {
    const temporary = { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE+/=' };
    const url = decode((await eksToken({ cluster: 'prod', region: 'us-east-2', credentials: temporary, now: NOW })).token);
    expect(Object.fromEntries(url.searchParams)).toEqual(aws4Query('prod', 'us-east-2', temporary));
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe(temporary.sessionToken);
  });

  it('decodes to a valid STS GetCallerIdentity request bound to the cluster by a signed x-k8s-aws-id header', async () => {
    const url = decode((await eksToken({ cluster: 'prod', region: 'eu-west-1', credentials, now: NOW })).token);
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20250301/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20250301T120000Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
    });
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    // Bound to its cluster: another cluster's token has another signature.
    const other = decode((await eksToken({ cluster: 'staging', region: 'eu-west-1', credentials, now: NOW })).token);
    expect(other.searchParams.get('X-Amz-Signature')).not.toBe(url.searchParams.get('X-Amz-Signature'));
  });
});

describe('EksClusterAccess (EKS: aws-sdk-client-mock)', () => {
  const eks = mockClient(EKSClient);
  const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
  let now = NOW.getTime();
  const access = (): EksClusterAccess => new EksClusterAccess({ eks: new EKSClient({ region: 'eu-west-1' }), region: 'eu-west-1', credentials, clock: { now: () => now } });

  /** Stands in for the cluster's API server: records the headers of each request and answers with a Namespace. */
  let apiServer: Server;
  let apiServerUrl: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    apiServer = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rack-shop' } }));
    });
    await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
    apiServerUrl = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    apiServer.closeAllConnections();
    await new Promise<void>((resolve) => apiServer.close(() => resolve()));
  });

  beforeEach(() => {
    eks.reset();
    now = NOW.getTime();
    seen.length = 0;
    eks.on(DescribeClusterCommand, { name: 'prod' }).resolves({ cluster: { name: 'prod', status: 'ACTIVE', endpoint: 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: { data: CA } } });
    eks.on(DescribeClusterCommand, { name: 'local' }).resolves({ cluster: { name: 'local', status: 'ACTIVE', endpoint: apiServerUrl, certificateAuthority: { data: CA } } });
    eks.on(DescribeClusterCommand, { name: 'creating' }).resolves({ cluster: { name: 'creating', status: 'CREATING' } });
  });

  it('describes a cluster once for two uses and gives its endpoint, CA and a token', async () => {
    const cluster = access();
    const first = await cluster.connection('prod');
    const second = await cluster.connection('prod');
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(second).toBe(first);
    expect(first).toMatchObject({ server: 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com', caData: CA });
    expect(decode(first.token).searchParams.get('X-Amz-Date')).toBe('20250301T120000Z');
  });

  it('renews the token after ten minutes, without describing the cluster again', async () => {
    const cluster = access();
    const first = await cluster.connection('prod');
    now += 9 * 60 * 1000;
    expect(await cluster.connection('prod')).toBe(first);
    now += 2 * 60 * 1000;
    const renewed = await cluster.connection('prod');
    expect(renewed).not.toBe(first);
    expect(decode(renewed.token).searchParams.get('X-Amz-Date')).toBe('20250301T121100Z');
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it('explains a cluster that has no endpoint yet, and asks again next time', async () => {
    const cluster = access();
    await expect(cluster.connection('creating')).rejects.toThrow(EksAccessError);
    await expect(cluster.connection('creating')).rejects.toThrow('EKS cluster creating has no API endpoint yet (status CREATING): wait until it is ACTIVE');
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });

  it('gives a Kubernetes API that calls the described endpoint with the current token, and the renewed one after ten minutes', async () => {
    const api = access().kubernetesApi('local');
    const namespace = { apiVersion: 'v1', kind: 'Namespace', name: 'rack-shop' };
    expect(await api.get(namespace)).toMatchObject({ metadata: { name: 'rack-shop' } });
    now += 11 * 60 * 1000;
    await api.get(namespace);
    const tokens = seen.map((headers) => (headers.authorization ?? '').replace(/^Bearer /, ''));
    expect(tokens.map((t) => decode(t).searchParams.get('X-Amz-Date'))).toEqual(['20250301T120000Z', '20250301T121100Z']);
    expect(decode(tokens[0] ?? '').searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  });

  it('gives client-node users a KubeConfig of the same connection, made again only when the token is renewed', async () => {
    const cluster = access();
    const config = await eksKubeConfig(cluster, 'prod');
    expect(await eksKubeConfig(cluster, 'prod')).toBe(config);
    expect(config.getCurrentCluster()).toMatchObject({ server: 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com', caData: CA, skipTLSVerify: false });
    expect(config.getCurrentUser()?.token).toBe((await cluster.connection('prod')).token);
    now += 11 * 60 * 1000;
    const renewed = await eksKubeConfig(cluster, 'prod');
    expect(renewed).not.toBe(config);
    expect(decode(renewed.getCurrentUser()?.token ?? '').searchParams.get('X-Amz-Date')).toBe('20250301T121100Z');
  });
});
