import type { EngineAuth } from '../../config/types.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { bearerAuthorization, ClientCredentialsTokens } from '../oauth-client.ts';

/**
 * The `Authorization` header of the engine's REST calls: none, HTTP basic,
 * or an OAuth 2.0 bearer token that is renewed before it expires and once
 * more when the engine rejects it.
 */
export interface EngineAuthorization {
  /** Returns the header value, or undefined when the engine needs none. */
  header(): Promise<string | undefined>;
  /**
   * Called when the engine returned 401 for a call made with `header`.
   * Returns whether one more attempt with a new header may succeed, which is
   * the case for a bearer token that the engine no longer accepts.
   */
  rejected(header: string | undefined): boolean;
  /** Token requests sent so far; 0 without OAuth. */
  readonly tokenRequests: number;
}

/** Builds the authorization of `engine.auth`. */
export function engineAuthorization(auth: EngineAuth | undefined, options: { timeoutMs: number; logger?: Logger }): EngineAuthorization {
  if (auth === undefined) {
    return { header: () => Promise.resolve(undefined), rejected: () => false, tokenRequests: 0 };
  }
  if (auth.type === 'basic') {
    const header = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    return { header: () => Promise.resolve(header), rejected: () => false, tokenRequests: 0 };
  }

  const tokens = new ClientCredentialsTokens(auth, options);
  return {
    ...bearerAuthorization(tokens),
    get tokenRequests() {
      return tokens.requests;
    },
  };
}
