/**
 * The bearer token EKS accepts, made as `aws eks get-token` makes it: an STS GetCallerIdentity
 * GET request, presigned in its query string with SigV4 and the `x-k8s-aws-id: <cluster>`
 * header signed (so a token for one cluster is no good for another), base64url-encoded without
 * padding behind `k8s-aws-v1.`. The cluster's authenticator calls STS with that request to learn
 * who is calling; no secret ever leaves the process, only the signature.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** The header that binds a token to one cluster. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** How long the presigned request is valid, as `aws eks get-token` signs it. */
const PRESIGN_EXPIRES_SECONDS = 60;
/**
 * EKS accepts a token for 15 minutes after its signing time (not the presigned 60 seconds);
 * `aws eks get-token` reports 14 minutes to leave a margin.
 */
export const EKS_TOKEN_LIFETIME_MS = 14 * 60 * 1000;

/** Credentials or a provider of them, as the AWS SDK takes them. */
export type AwsCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface EksTokenRequest {
  readonly cluster: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** The signing time (now by default). */
  readonly now?: Date;
}

export interface EksToken {
  readonly token: string;
  /** When EKS stops accepting it. */
  readonly expiresAt: Date;
}

/** The STS host of a region: the regional endpoint, as current AWS CLIs sign it. */
export function stsHost(region: string): string {
  return `sts.${region}.amazonaws.com`;
}

export async function eksToken(request: EksTokenRequest): Promise<EksToken> {
  const now = request.now ?? new Date();
  const signer = new SignatureV4({ service: 'sts', region: request.region, credentials: request.credentials, sha256: Sha256 });
  const host = stsHost(request.region);
  const presigned = await signer.presign(
    new HttpRequest({
      method: 'GET',
      protocol: 'https:',
      hostname: host,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host, [CLUSTER_ID_HEADER]: request.cluster },
    }),
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: now },
  );
  const url = `https://${host}/?${queryString(presigned.query ?? {})}`;
  return { token: `${EKS_TOKEN_PREFIX}${Buffer.from(url, 'utf8').toString('base64url')}`, expiresAt: new Date(now.getTime() + EKS_TOKEN_LIFETIME_MS) };
}

function queryString(query: Record<string, string | string[] | null>): string {
  return Object.keys(query)
    .sort()
    .flatMap((key) => {
      const value = query[key];
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
      return values.map((v) => `${rfc3986(key)}=${rfc3986(v)}`);
    })
    .join('&');
}

/** SigV4's URI encoding: encodeURIComponent plus the characters it leaves alone. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
