/**
 * The compiled configuration: validated, defaults filled, durations in
 * milliseconds, references between sections checked, and frozen. Nothing
 * downstream reads raw YAML or environment variables.
 */

export interface BasicAuth {
  type: 'basic';
  username: string;
  password: string;
}

export interface BearerAuth {
  type: 'bearer';
  token: string;
}

export type ServiceAuth = BasicAuth | BearerAuth;

export interface EngineOptions {
  type: 'camunda7';
  /** REST base URL, without a trailing slash, e.g. `http://127.0.0.1:8080/engine-rest`. */
  baseUrl: string;
  auth: BasicAuth | undefined;
  workerId: string;
  /** Maximum tasks per fetch-and-lock request. */
  maxTasks: number;
  lockDurationMs: number;
  /** Long-polling timeout of fetch-and-lock. */
  asyncResponseTimeoutMs: number;
  /** Pause between two fetch-and-lock requests. */
  pollIntervalMs: number;
  /** Timeout of the daemon's own engine requests (definition XML, complete, failure). */
  requestTimeoutMs: number;
  failure: {
    /** Retries given to a task whose first attempt failed, when the engine has none set yet. */
    retries: number;
    /** Retry timeout after the first failure; it doubles with each further attempt. */
    retryTimeoutMs: number;
    maxRetryTimeoutMs: number;
  };
}

export interface ServiceOptions {
  name: string;
  /** Base URL without a trailing slash. */
  baseUrl: string;
  timeoutMs: number;
  /** Maximum requests in flight to this service. */
  maxConcurrent: number;
  auth: ServiceAuth | undefined;
  headers: Readonly<Record<string, string>>;
}

export interface BpmnErrorMapping {
  code: string;
  message: string | undefined;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TopicOptions {
  topic: string;
  /** Default service; an activity's `service` property overrides it. */
  service: string | undefined;
  path: string | undefined;
  method: HttpMethod;
  /** Variables sent to the service; undefined sends all. */
  variables: readonly string[] | undefined;
  resultVariable: string | undefined;
  /** HTTP status to BPMN error. */
  errors: ReadonlyMap<number, BpmnErrorMapping>;
  /** Absolute path of an in-process handler module. */
  handler: string | undefined;
  lockDurationMs: number;
}

export interface CacheOptions {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface RouterConfig {
  /** Path of the file this was loaded from, when it came from a file. */
  source: string | undefined;
  engine: EngineOptions;
  services: ReadonlyMap<string, ServiceOptions>;
  topics: readonly TopicOptions[];
  cache: { definitions: CacheOptions };
  logging: { level: LogLevel };
  shutdown: { gracePeriodMs: number };
}
