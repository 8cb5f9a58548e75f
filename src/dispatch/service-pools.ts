import { Pool } from 'undici';

import type { ServiceOptions } from '../config/types.ts';
import { errorTypeOf, type CallResult } from '../telemetry/recorder.ts';
import { serviceAuthorization, type ServiceAuthorization } from './service-auth.ts';

/** Largest response body read from a service; a larger one fails the task instead of filling memory. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** Idle time after which a keep-alive connection to a service is closed. */
const KEEP_ALIVE_MS = 30_000;

/** Observer of every request sent to a service, batch requests included, for metrics. */
export type ServiceRequestObserver = (service: string, request: { method: string; path: string }, result: CallResult) => void;

export interface ServiceResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One keep-alive connection pool per declared service, sized by the
 * service's `maxConcurrent`. All tasks for a service share its pool.
 */
export class ServicePools {
  readonly #services: ReadonlyMap<string, ServiceOptions>;
  readonly #pools = new Map<string, Pool>();
  readonly #authorizations = new Map<string, ServiceAuthorization>();
  /** Path of each service's base URL, without a trailing slash, prefixed to every request path. */
  readonly #basePaths = new Map<string, string>();

  readonly #observe: ServiceRequestObserver | undefined;

  constructor(services: ReadonlyMap<string, ServiceOptions>, observe?: ServiceRequestObserver) {
    this.#services = services;
    this.#observe = observe;
  }

  /**
   * Sends one request to a service; rejects on connection errors, when the
   * response headers take longer than the service's timeout, and when the
   * body pauses for longer than it. undici's own timers enforce both, which
   * costs far less CPU per request than an `AbortSignal.timeout()`.
   */
  request(
    serviceName: string,
    request: { method: string; path: string; headers: Record<string, string>; body: string | undefined },
  ): Promise<ServiceResponse> {
    const service = this.#service(serviceName);
    const authorization = this.#authorization(service);
    if (authorization.fixed !== undefined) {
      return this.#send(service, request, authorization.fixed.header);
    }
    return this.#sendWithToken(service, authorization, request);
  }

  /** Sends with a header that can change, an OAuth access token: a 401 that rejects the token gets one more attempt with a new one. */
  async #sendWithToken(
    service: ServiceOptions,
    authorization: ServiceAuthorization,
    request: { method: string; path: string; headers: Record<string, string>; body: string | undefined },
  ): Promise<ServiceResponse> {
    const header = await authorization.header();
    const response = await this.#send(service, request, header);
    if (response.status === 401 && authorization.rejected(header)) {
      return this.#send(service, request, await authorization.header());
    }
    return response;
  }

  async #send(
    service: ServiceOptions,
    request: { method: string; path: string; headers: Record<string, string>; body: string | undefined },
    authorizationHeader: string | undefined,
  ): Promise<ServiceResponse> {
    const pool = this.#pool(service);
    const headers = authorizationHeader === undefined ? request.headers : { ...request.headers, authorization: authorizationHeader };

    let response;
    let body: string;
    try {
      response = await pool.request({
        method: request.method as 'POST',
        path: `${this.#basePaths.get(service.name) ?? ''}${request.path}`,
        headers,
        body: request.body,
        headersTimeout: service.timeoutMs,
        bodyTimeout: service.timeoutMs,
      });
      body = await response.body.text();
    } catch (error) {
      this.#observe?.(service.name, { method: request.method, path: request.path }, { errorType: errorTypeOf(error) });
      throw error;
    }
    this.#observe?.(service.name, { method: request.method, path: request.path }, { status: response.statusCode });
    return { status: response.statusCode, headers: response.headers, body };
  }

  #authorization(service: ServiceOptions): ServiceAuthorization {
    let authorization = this.#authorizations.get(service.name);
    if (authorization === undefined) {
      authorization = serviceAuthorization(service);
      this.#authorizations.set(service.name, authorization);
    }
    return authorization;
  }

  /** Opens a service's pool ahead of its first request. */
  warm(serviceName: string): void {
    this.#pool(this.#service(serviceName));
  }

  /** Closes every pool, letting requests in flight finish. Safe to call twice. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.close()));
  }

  /** Closes every pool at once, aborting requests in flight. Safe to call twice. */
  async destroy(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  }

  #service(name: string): ServiceOptions {
    const service = this.#services.get(name);
    if (service === undefined) {
      throw new Error(`service "${name}" is not declared`);
    }
    return service;
  }

  #pool(service: ServiceOptions): Pool {
    let pool = this.#pools.get(service.name);
    if (pool === undefined) {
      pool = new Pool(new URL(service.baseUrl).origin, {
        connections: service.maxConcurrent,
        keepAliveTimeout: KEEP_ALIVE_MS,
        maxResponseSize: MAX_RESPONSE_BYTES,
        ...(service.tls === undefined ? {} : { connect: { ca: service.tls.ca } }),
      });
      this.#pools.set(service.name, pool);
      const { pathname } = new URL(service.baseUrl);
      this.#basePaths.set(service.name, pathname === '/' ? '' : pathname.replace(/\/+$/, ''));
    }
    return pool;
  }
}
