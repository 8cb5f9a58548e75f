/**
 * The daemon's one HTTP server: `/metrics` in the Prometheus text format,
 * `/healthz` for liveness and `/readyz` for readiness. It binds loopback
 * unless configured otherwise, because the figures and ids it serves are
 * internal.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { IllegalStateError } from '../errors.ts';
import { silentLogger, type Logger } from '../telemetry/logger.ts';

/** Result of one probe: `ok` decides the status (200 or 503), `checks` explains it in the JSON body. */
export interface ProbeResult {
  ok: boolean;
  checks: Record<string, unknown>;
}

/** Sources of the server's responses. Until {@link HealthServer.attach} is called, both probes fail. */
export interface HealthSources {
  /** The metrics in the Prometheus text exposition format. */
  metrics(): Promise<string>;
  liveness(): ProbeResult;
  readiness(): ProbeResult;
}

export interface HealthServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port, which {@link HealthServer.address} then returns. @default 9464 */
  port?: number;
  logger?: Logger;
}

/** Lifecycle of the server: `listening` serves requests, `closed` has released its port. */
export type HealthServerState = 'created' | 'listening' | 'closing' | 'closed';

/** Content type of the Prometheus text exposition format, version 0.0.4. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Time a `stop()` lets a request in progress finish before it closes its connection. */
const CLOSE_GRACE_MS = 1_000;

export class HealthServer {
  readonly #host: string;
  readonly #port: number;
  readonly #logger: Logger;
  readonly #server: Server;
  #sources: HealthSources | undefined;
  #state: HealthServerState = 'created';
  #stopping: Promise<void> | undefined;

  constructor(options: HealthServerOptions = {}) {
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 9464;
    this.#logger = options.logger ?? silentLogger();
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  get state(): HealthServerState {
    return this.#state;
  }

  /** Sets what the probes and `/metrics` report, e.g. once the daemon is built from a loaded configuration. */
  attach(sources: HealthSources): void {
    this.#sources = sources;
  }

  /** Starts listening; rejects when the address is in use or not available. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.#state !== 'created') {
      throw new IllegalStateError(`HealthServer.start() called in state ${this.#state}; create a new server`);
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#state = 'listening';
    const address = this.address;
    this.#logger.info({ host: address.host, port: address.port }, 'health and metrics server listening');
    return address;
  }

  /** The bound address; the port is the real one when 0 was configured. */
  get address(): { host: string; port: number } {
    const bound = this.#server.address() as AddressInfo | null;
    return { host: bound?.address ?? this.#host, port: bound?.port ?? this.#port };
  }

  /** Stops accepting connections and closes the open ones after a short grace. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state !== 'listening') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closing';
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), CLOSE_GRACE_MS);
    await closed;
    clearTimeout(timer);
    this.#state = 'closed';
    this.#logger.debug('health and metrics server closed');
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed: use GET\n');
      return;
    }

    try {
      switch (path) {
        case '/metrics':
          await this.#serveMetrics(response);
          return;
        case '/healthz':
          this.#serveProbe(response, this.#sources?.liveness() ?? notAttached());
          return;
        case '/readyz':
          this.#serveProbe(response, this.#sources?.readiness() ?? notAttached());
          return;
        default:
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          response.end('not found: the paths are /metrics, /healthz and /readyz\n');
      }
    } catch (error) {
      this.#logger.error({ err: error, path }, 'health server request failed');
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      }
      response.end('internal error\n');
    }
  }

  async #serveMetrics(response: ServerResponse): Promise<void> {
    const text = this.#sources === undefined ? '' : await this.#sources.metrics();
    response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
    response.end(text);
  }

  #serveProbe(response: ServerResponse, result: ProbeResult): void {
    response.writeHead(result.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(`${JSON.stringify({ status: result.ok ? 'ok' : 'unavailable', checks: result.checks })}\n`);
  }
}

function notAttached(): ProbeResult {
  return { ok: false, checks: { config: 'not loaded' } };
}
