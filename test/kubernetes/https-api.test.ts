/**
 * HttpsKubernetesApi beyond the shared contract (applier, rollout and runtime tests): the port's
 * edge cases through both adapters against the Kubernetes API test double, what only the
 * node:https client has (TLS against the cluster's CA on a real https server, deadlines, its kind
 * table, a renewed token), and that it bundles without @kubernetes/client-node.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpsKubernetesApi, KubernetesUnknownKindError } from '../../lib/kubernetes/api/https-api';
import { KubernetesApiError } from '../../lib/kubernetes/api/kubernetes-api';
import { REPO_ROOT } from '../support/paths';
import { KubeApiTestDouble } from '../support/kube-api-double';
import { KUBERNETES_API_ADAPTERS } from './kubernetes-api.contract';

const NS = 'rack-shop';

describe.each(KUBERNETES_API_ADAPTERS)('the port through $adapter against the Kubernetes API test double', ({ connect }) => {
  let double: KubeApiTestDouble;

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
    double.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  afterEach(() => double.close());

  it('reads a missing object as undefined and deleting it as false', async () => {
    const api = connect(double);
    expect(await api.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' })).toBeUndefined();
    expect(await api.delete({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' })).toBe(false);
  });

  it('lists a cluster-scoped kind without a namespace in the path, each item with its apiVersion and kind', async () => {
    const namespaces = await connect(double).list('v1', 'Namespace', NS);
    expect(namespaces.map((n) => [n.apiVersion, n.kind, n.metadata.name])).toEqual([['v1', 'Namespace', NS]]);
    expect(double.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/namespaces' });
  });

  it('reads a pod\'s log, of one container and its last lines', async () => {
    double.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: NS }, spec: { containers: [{ name: 'shop' }, { name: 'sidecar' }] } });
    double.setPodLog(NS, 'web-1', 'shop', 'one\ntwo\nthree\n');
    expect(await connect(double).podLogs(NS, 'web-1', { container: 'shop', tailLines: 2 })).toBe('two\nthree\n');
  });

  it('explains a refused token as the rack\'s access to the cluster', async () => {
    const error = await connect(double, 'expired-token').get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'env-web' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect(error).toMatchObject({ status: 401, code: 'KUBERNETES_API' });
    expect((error as Error).message).toBe(`the cluster refused to let Slipway read Secret ${NS}/env-web (HTTP 401: Unauthorized): check the rack's access to the cluster`);
  });

  it('reports an error answer of the server with its status message', async () => {
    double.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-2', namespace: NS }, spec: { containers: [{ name: 'shop' }, { name: 'sidecar' }] } });
    const error = await connect(double).podLogs(NS, 'web-2').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, message: `could not read the log of Pod ${NS}/web-2: HTTP 400: a container name must be specified for pod web-2, choose one of: [shop sidecar]` });
  });
});

describe('HttpsKubernetesApi against the Kubernetes API test double', () => {
  let double: KubeApiTestDouble;

  beforeEach(async () => {
    double = await KubeApiTestDouble.start();
  });
  afterEach(() => double.close());

  it('asks its source for the connection on every request, so a renewed token is used at once', async () => {
    let token = 'stale-token';
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: double.url, token }));
    await expect(api.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })).rejects.toMatchObject({ status: 401 });
    token = double.token;
    expect(await api.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })).toBeUndefined();
  });

  it('refuses a kind it has no path for with a typed error, before any request', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: double.url, token: double.token }));
    const error = await api.apply({ apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'w', namespace: NS } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesUnknownKindError);
    expect(error).toMatchObject({ code: 'KUBERNETES_UNKNOWN_KIND' });
    expect((error as Error).message).toMatch(/^Slipway does not know the API path of example\.org\/v1 Widget: .*apps\/v1 Deployment/);
    expect(double.requests).toEqual([]);
  });
});

describe('HttpsKubernetesApi deadlines, against a server that never answers', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createHttpServer(() => {
      // Accepts the request and never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fails an API call after its request timeout, naming the object', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: url, token: 't' }), { requestTimeoutMs: 100 });
    const error = await api.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: NS, name: 'web' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect((error as Error).message).toBe(`could not read Deployment ${NS}/web: no answer within 100 ms`);
  });

  it('fails a service probe after the timeout it was given', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: url, token: 't' }));
    await expect(api.proxyGet(NS, 'web:3000', '/health', { timeoutMs: 100 })).rejects.toThrow(`no answer from service web:3000 in ${NS} within 100 ms`);
  });
});

/** A self-signed certificate for 127.0.0.1, made by openssl (Node cannot make X.509 certificates). */
function selfSignedCertificate(dir: string, name: string): { key: string; cert: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'pipe' });
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
const TLS_SUITE = `HttpsKubernetesApi TLS against an https server with a self-signed certificate${OPENSSL ? '' : ' (SKIPPED: openssl is not on PATH to make the certificate)'}`;

describe.skipIf(!OPENSSL)(TLS_SUITE, () => {
  let dir: string;
  let server: Server;
  let url: string;
  let serverCa: string;
  let otherCa: string;
  let served = 0;
  const token = 'tls-test-token';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-tls-'));
    const serverCertificate = selfSignedCertificate(dir, 'api-server');
    serverCa = Buffer.from(serverCertificate.cert).toString('base64');
    otherCa = Buffer.from(selfSignedCertificate(dir, 'other-cluster').cert).toString('base64');
    server = createHttpsServer(serverCertificate, (req, res) => {
      served++;
      const authorised = req.headers.authorization === `Bearer ${token}`;
      res.writeHead(authorised ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(authorised ? { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } : { kind: 'Status', status: 'Failure', reason: 'Unauthorized', message: 'Unauthorized', code: 401 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks to the server when its certificate chains to the CA given', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: url, caData: serverCa, token }));
    expect(await api.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });

  it('refuses a server whose certificate another CA signed, saying so, and sends it no request', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: url, caData: otherCa, token }));
    const servedBefore = served;
    const error = await api.get({ apiVersion: 'v1', kind: 'Namespace', name: NS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubernetesApiError);
    expect((error as Error).message).toMatch(/^could not read Namespace rack-shop: the API server at 127\.0\.0\.1:\d+ presented a certificate the cluster's CA does not verify \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE): .*check the cluster's CA data and endpoint$/);
    await expect(api.proxyGet(NS, 'web:3000', '/health')).rejects.toThrow(/^cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:\d+: the API server at .* presented a certificate the cluster's CA does not verify/);
    expect(served).toBe(servedBefore);
  });

  it('without CA data trusts only the system\'s CAs, so a self-signed server is refused', async () => {
    const api = new HttpsKubernetesApi(() => Promise.resolve({ server: url, token }));
    await expect(api.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })).rejects.toThrow(/presented a certificate the cluster's CA does not verify/);
  });
});

describe('HttpsKubernetesApi bundle', () => {
  it.each(['lib/kubernetes/api/https-api.ts', 'lib/aws/eks/eks-cluster-access.ts', 'lib/aws/eks/index.ts'])('bundles %s without @kubernetes/client-node', async (entry) => {
    const result = await build({ entryPoints: [join(REPO_ROOT, entry)], bundle: true, platform: 'node', format: 'esm', minify: true, write: false, metafile: true, external: ['@aws-sdk/*'], logLevel: 'silent' });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => i.includes('@kubernetes/client-node'))).toEqual([]);
    expect(inputs.some((i) => i.endsWith('https-api.ts'))).toBe(true);
  });
});
