/**
 * The @camunda8/sdk clients of one engine configuration: the REST client of
 * the Orchestration Cluster API (v2), and the gRPC client for job streaming.
 * Each keeps its own OAuth token.
 */
import { createRequire } from 'node:module';

import type { Camunda8, CamundaRestClient, Zeebe } from '@camunda8/sdk';

import type { EngineOptions } from '../../config/types.ts';
import type { Logger } from '../../telemetry/logger.ts';

/** The SDK's logger interface: a message and optional details. */
type SdkLogger = Record<'error' | 'warn' | 'info' | 'debug' | 'trace', (message: string | undefined, ...meta: unknown[]) => void>;

/** The SDK configuration keys the daemon sets; every other key keeps the SDK's default or its own environment variable. */
type SdkConfiguration = ConstructorParameters<typeof Camunda8>[0];

export interface Camunda8Clients {
  rest: CamundaRestClient;
  /** Created on first use, only when `engine.streaming` is set. */
  grpc(): Zeebe.ZeebeGrpcClient;
  close(): Promise<void>;
}

/**
 * Creates the SDK clients for `engine`. The SDK writes nothing to disk (no
 * token cache file) and logs through `logger`: its info lines at debug, since
 * the daemon logs only state changes at info.
 *
 * The REST client makes one attempt per call: the daemon retries transient
 * errors itself (fetch back-off, outcome reports until the lock ends). A
 * retry inside got 11, which the SDK uses, also throws an uncaught error
 * when the request is cancelled while the retry waits.
 *
 * NOTE: settings the configuration leaves unset (e.g. custom certificates)
 * still come from the SDK's own `CAMUNDA_*` and `ZEEBE_*` environment
 * variables, which the SDK reads itself.
 */
export function createCamunda8Clients(engine: EngineOptions, logger: Logger): Camunda8Clients {
  const configuration = sdkConfiguration(engine, logger);
  const { Camunda8: Camunda8Client, CamundaRestClient: RestClient } = loadSdk();
  const sdk = new Camunda8Client(configuration, { defaultCached: true });
  const rest = new RestClient({ config: configuration, retry: { limit: 0 } });
  return {
    rest,
    grpc: () => sdk.getZeebeGrpcApiClient(),
    close: () => sdk.closeAllClients(),
  };
}

/**
 * Loads the SDK on first use. Loaded alone it adds about 57 MB of RSS
 * (Node 24.21), and about 19 MB to the daemon, which a daemon serving
 * Camunda 7 should not pay.
 */
function loadSdk(): { Camunda8: typeof Camunda8; CamundaRestClient: typeof CamundaRestClient } {
  return createRequire(import.meta.url)('@camunda8/sdk') as { Camunda8: typeof Camunda8; CamundaRestClient: typeof CamundaRestClient };
}

/** Translates the daemon's engine options to the SDK's configuration keys. */
export function sdkConfiguration(engine: EngineOptions, logger: Logger): SdkConfiguration {
  const { auth } = engine;
  const configuration: Record<string, unknown> = {
    ZEEBE_REST_ADDRESS: engine.baseUrl,
    CAMUNDA_AUTH_STRATEGY: 'NONE',
    CAMUNDA_TOKEN_DISK_CACHE_DISABLE: true,
    CAMUNDA_LOG_LEVEL: 'error',
    logger: sdkLogger(logger),
    zeebeGrpcSettings: { ZEEBE_CLIENT_LOG_LEVEL: 'NONE', ZEEBE_GRPC_CLIENT_RETRY: false },
  };
  if (engine.streaming !== undefined) {
    configuration.ZEEBE_GRPC_ADDRESS = engine.streaming.grpcAddress;
  }
  if (auth?.type === 'basic') {
    Object.assign(configuration, {
      CAMUNDA_AUTH_STRATEGY: 'BASIC',
      CAMUNDA_BASIC_AUTH_USERNAME: auth.username,
      CAMUNDA_BASIC_AUTH_PASSWORD: auth.password,
    });
  } else if (auth?.type === 'oauth') {
    Object.assign(configuration, {
      CAMUNDA_AUTH_STRATEGY: 'OAUTH',
      ZEEBE_CLIENT_ID: auth.clientId,
      ZEEBE_CLIENT_SECRET: auth.clientSecret,
      CAMUNDA_OAUTH_URL: auth.tokenUrl,
      ZEEBE_TOKEN_AUDIENCE: auth.audience,
      CAMUNDA_ZEEBE_OAUTH_AUDIENCE: auth.audience,
      CAMUNDA_TOKEN_SCOPE: auth.scope,
    });
  }
  return configuration as SdkConfiguration;
}

function sdkLogger(logger: Logger): SdkLogger {
  const child = logger.child({ component: 'camunda8-sdk' });
  const forward = (level: 'error' | 'warn' | 'debug' | 'trace') => (message: string | undefined, ...meta: unknown[]) => {
    child[level](meta.length === 0 ? {} : { details: meta }, message ?? '');
  };
  return { error: forward('error'), warn: forward('warn'), info: forward('debug'), debug: forward('trace'), trace: forward('trace') };
}
