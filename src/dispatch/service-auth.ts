/**
 * The `Authorization` header of a service's requests: HTTP basic, a static
 * bearer token, or an OAuth 2.0 access token from the client credentials
 * grant, renewed before it expires and once more when the service rejects it.
 */
import type { ServiceOptions } from '../config/types.ts';
import { BEARER, bearerAuthorization, ClientCredentialsTokens } from '../engine/oauth-client.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';

/** Raised when a service's access token cannot be obtained; the task fails with this message. */
export class ServiceTokenError extends Error {
  override readonly name = 'ServiceTokenError';
  readonly code = 'ERR_SERVICE_TOKEN';
}

export interface ServiceAuthorization {
  /** The header value when it never changes (none, basic or a static bearer token), so a request need not wait for it. */
  readonly fixed?: { header: string | undefined };
  /** Returns the header value, or undefined when the service needs none; rejects with {@link ServiceTokenError}. */
  header(): Promise<string | undefined>;
  /**
   * Called when the service returned 401 for a request sent with `header`.
   * Returns whether one more attempt with a new header may succeed, which is
   * the case for an OAuth access token the service no longer accepts.
   */
  rejected(header: string | undefined): boolean;
}

/** Builds the authorization of `service.auth`. */
export function serviceAuthorization(service: ServiceOptions, logger: Logger = silentLogger()): ServiceAuthorization {
  const { auth } = service;
  if (auth === undefined) {
    return { fixed: { header: undefined }, header: () => Promise.resolve(undefined), rejected: () => false };
  }
  if (auth.type === 'basic' || auth.type === 'bearer') {
    const header = auth.type === 'basic' ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : `${BEARER}${auth.token}`;
    return { fixed: { header }, header: () => Promise.resolve(header), rejected: () => false };
  }

  const tokens = new ClientCredentialsTokens(auth, {
    timeoutMs: service.timeoutMs,
    configKey: `services.${service.name}.auth`,
    makeError: (message, cause) => new ServiceTokenError(message, cause === undefined ? undefined : { cause }),
    logger,
  });
  return bearerAuthorization(tokens);
}
