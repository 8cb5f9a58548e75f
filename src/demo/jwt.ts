/**
 * HS256 JSON Web Tokens (RFC 7519) for the bundled engine's bearer-token
 * filter: the tests' token endpoint and the engine launcher sign tokens with
 * the secret the engine was started with.
 */
import { createHmac } from 'node:crypto';

/** Claims of a token; `exp` and `nbf` are seconds since the epoch. */
export interface JwtClaims {
  sub?: string;
  aud?: string | string[];
  exp: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

/** Signs the claims with HMAC-SHA256 and returns the compact token `header.payload.signature`. */
export function signJwt(secret: string, claims: JwtClaims): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
