/**
 * OAuth 2.0 access tokens by the client credentials grant (RFC 6749,
 * section 4.4), for engines behind an identity provider.
 */
import { request } from 'undici';

import type { OAuthClientCredentials } from '../config/types.ts';
import { EngineRequestError } from '../errors.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';

/** Maximum time before a token's expiry at which it is renewed. */
const MAX_RENEW_MARGIN_MS = 30_000;

/** Share of a token's lifetime before its expiry at which it is renewed, when that is less than the maximum margin. */
const RENEW_MARGIN_SHARE = 0.1;

/** Largest token response accepted. */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

export interface TokenClientOptions {
  /** Timeout of one token request. */
  timeoutMs: number;
  /** Configuration key of the credentials, named in errors and logs. @default 'engine.auth' */
  configKey?: string;
  /** Builds the error of a failed token request. @default an {@link EngineRequestError} without status */
  makeError?: (message: string, cause?: unknown) => Error;
  logger?: Logger;
  /** Epoch milliseconds; a fake clock lets tests move time. @default Date.now */
  now?: () => number;
}

interface CachedToken {
  token: string;
  /** Epoch milliseconds after which the token is renewed before use. */
  renewAt: number;
}

/**
 * Fetches an access token from the token endpoint and keeps it until
 * shortly before it expires: 10 % of its lifetime before, at most 30 s
 * before. A token response without `expires_in` is kept until the engine
 * rejects it. Callers waiting at the same time share one token request.
 */
export class ClientCredentialsTokens {
  readonly #credentials: OAuthClientCredentials;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #configKey: string;
  readonly #makeError: (message: string, cause?: unknown) => Error;
  #cached: CachedToken | undefined;
  #pending: Promise<string> | undefined;
  #requests = 0;

  constructor(credentials: OAuthClientCredentials, options: TokenClientOptions) {
    this.#credentials = credentials;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger ?? silentLogger();
    this.#now = options.now ?? Date.now;
    this.#configKey = options.configKey ?? 'engine.auth';
    this.#makeError = options.makeError ?? ((message, cause) => new EngineRequestError(message, undefined, cause === undefined ? undefined : { cause }));
  }

  /** Token requests sent so far. */
  get requests(): number {
    return this.#requests;
  }

  /** Returns a valid access token, requesting a new one when none is cached or it is about to expire. */
  token(): Promise<string> {
    const cached = this.#cached;
    if (cached !== undefined && this.#now() < cached.renewAt) {
      return Promise.resolve(cached.token);
    }
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets `token` after the engine rejected it, so the next {@link token} call requests a new one. */
  invalidate(token: string): void {
    if (this.#cached?.token === token) {
      this.#cached = undefined;
    }
  }

  async #request(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope, audience, clientAuthentication } = this.#credentials;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) {
      form.set('scope', scope);
    }
    if (audience !== undefined) {
      form.set('audience', audience);
    }
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    if (clientAuthentication === 'basic') {
      // RFC 6749, section 2.3.1: the id and secret are form-encoded before the Basic encoding.
      const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }

    this.#requests += 1;
    const sentAt = this.#now();
    let status: number;
    let text: string;
    try {
      const response = await request(tokenUrl, {
        method: 'POST',
        headers,
        body: form.toString(),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      status = response.statusCode;
      text = await readLimited(response.body);
    } catch (error) {
      throw this.#makeError(`POST ${tokenUrl} (${this.#configKey}.tokenUrl) failed: ${(error as Error).message}; check that the token endpoint is reachable`, error);
    }

    const token = parseTokenResponse(tokenUrl, status, text, this.#configKey, this.#makeError);
    const lifetimeMs = token.expiresInSeconds === undefined ? Number.POSITIVE_INFINITY : token.expiresInSeconds * 1000;
    const margin = Math.min(MAX_RENEW_MARGIN_MS, lifetimeMs * RENEW_MARGIN_SHARE);
    this.#cached = { token: token.accessToken, renewAt: sentAt + lifetimeMs - margin };
    this.#logger.debug({ tokenUrl, configKey: this.#configKey, expiresInSeconds: token.expiresInSeconds ?? null }, 'access token received');
    return token.accessToken;
  }
}

interface TokenResponse {
  accessToken: string;
  expiresInSeconds: number | undefined;
}

/**
 * Reads a token response (RFC 6749, section 5.1), or raises an error that
 * names the endpoint's error code (section 5.2) and what to check. The
 * error has no status, so callers treat it like an unreachable engine.
 */
function parseTokenResponse(tokenUrl: string, status: number, text: string, key: string, makeError: (message: string) => Error): TokenResponse {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      body = parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: reported below with the status.
  }

  if (status < 200 || status >= 300) {
    const code = typeof body.error === 'string' ? body.error : 'no error code';
    const description = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
    throw makeError(`POST ${tokenUrl} (${key}.tokenUrl) returned HTTP ${status} (${code}${description}); check ${key}.clientId, clientSecret and scope`);
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw makeError(`POST ${tokenUrl} (${key}.tokenUrl) returned HTTP ${status} without an access_token; check that ${key}.tokenUrl is the token endpoint`);
  }
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw makeError(`POST ${tokenUrl} (${key}.tokenUrl) returned a token of type ${JSON.stringify(body.token_type)}; only bearer tokens are supported`);
  }

  const expiresIn = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    expiresInSeconds: body.expires_in === undefined || !Number.isFinite(expiresIn) || expiresIn <= 0 ? undefined : expiresIn,
  };
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_TOKEN_RESPONSE_BYTES) {
      throw new Error(`token response larger than ${MAX_TOKEN_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prefix of an `Authorization` header that carries an access token. */
export const BEARER = 'Bearer ';

/**
 * Builds the `Authorization` header of an OAuth access token and the handling
 * of a 401: a bearer token that the peer rejected is dropped, so one more
 * attempt gets a new one.
 */
export function bearerAuthorization(tokens: ClientCredentialsTokens): { header(): Promise<string>; rejected(header: string | undefined): boolean } {
  return {
    header: async () => `${BEARER}${await tokens.token()}`,
    rejected: (header) => {
      if (header === undefined || !header.startsWith(BEARER)) {
        return false;
      }
      tokens.invalidate(header.slice(BEARER.length));
      return true;
    },
  };
}

/** `application/x-www-form-urlencoded` encoding of one value. */
function formEncode(value: string): string {
  return new URLSearchParams({ value }).toString().slice('value='.length);
}
