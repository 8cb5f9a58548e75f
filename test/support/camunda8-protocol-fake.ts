/**
 * A protocol fake of the Camunda 8 Orchestration Cluster REST API (v2) on
 * 127.0.0.1, port 0: the job endpoints, the definition XML endpoint and the
 * job search, plus an OAuth token endpoint. Every request body it receives
 * and every response body it sends is checked against Camunda's published
 * zod schemas (`@camunda/camunda-api-zod-schemas`, API 8.8, the version of
 * @camunda8/sdk 8.8); a key the schema does not know counts as a violation
 * too. A test asserts `violations` is empty. The fake responds to an invalid
 * request with 400, as the engine would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  activateJobsRequestBodySchema,
  activateJobsResponseBodySchema,
  completeJobRequestBodySchema,
  endpoints,
  failJobRequestBodySchema,
  problemDetailsSchema,
  queryJobsRequestBodySchema,
  queryJobsResponseBodySchema,
  throwJobErrorRequestBodySchema,
  updateJobRequestBodySchema,
} from '@camunda/camunda-api-zod-schemas/8.8';
import type { z } from 'zod';

import { parseJson, stringifyJson } from '../../src/lossless-json.ts';
import { FakeBroker, type FakeJob } from './camunda8-fake-broker.ts';

/** How the fake checks credentials: none, HTTP basic, or bearer tokens from its own token endpoint. */
export type FakeAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'oauth'; clientId: string; clientSecret: string; audience: string };

/** A request as the fake recorded it, body parsed. */
export interface FakeRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface Camunda8ProtocolFake {
  /** REST address without `/v2`, as `engine.baseUrl` takes it. */
  url: string;
  /** OAuth token URL of the fake. */
  tokenUrl: string;
  broker: FakeBroker;
  requests: FakeRequest[];
  /** Schema violations in requests received and responses sent; empty when the adapter kept to the API. */
  violations: string[];
  /** Tokens issued by the token endpoint. */
  readonly tokensIssued: number;
  /** Responds to the next `count` requests whose path matches `pattern` with `status` and a problem body. */
  failNext(pattern: RegExp, status: number, count?: number): void;
  close(): Promise<void>;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle(match: RegExpExecArray, body: unknown, request: IncomingMessage): Promise<Reply> | Reply;
}

interface Reply {
  status: number;
  body?: unknown;
  schema?: z.ZodType;
  contentType?: string;
}

/** Maximum long poll of the fake, whatever `requestTimeout` the request sets. */
const MAX_LONG_POLL_MS = 10_000;

/** Starts the fake; `broker` lets a gRPC fake share the same jobs. */
export async function startCamunda8ProtocolFake(options: { auth?: FakeAuth; broker?: FakeBroker } = {}): Promise<Camunda8ProtocolFake> {
  const auth = options.auth ?? { type: 'none' };
  const broker = options.broker ?? new FakeBroker();
  const requests: FakeRequest[] = [];
  const violations: string[] = [];
  const injected: { pattern: RegExp; status: number; count: number }[] = [];
  const closing = new AbortController();
  const issuedTokens = new Set<string>();
  let tokensIssued = 0;

  const routes: Route[] = [
    route(endpoints.activateJobs.method, /^\/v2\/jobs\/activation$/, async (_match, body) => {
      const request = checked(activateJobsRequestBodySchema, body, 'POST /v2/jobs/activation request');
      const deadline = Date.now() + longPollMs(request.requestTimeout);
      let jobs = broker.activate(request.type, request.worker ?? '', request.timeout, request.maxJobsToActivate, request.tenantIds);
      while (jobs.length === 0 && Date.now() < deadline && !closing.signal.aborted) {
        await broker.waitForJobs(Math.min(250, deadline - Date.now()), closing.signal);
        jobs = broker.activate(request.type, request.worker ?? '', request.timeout, request.maxJobsToActivate, request.tenantIds);
      }
      return { status: 200, body: { jobs: jobs.map(activatedJob) }, schema: activateJobsResponseBodySchema };
    }),
    route(endpoints.completeJob.method, /^\/v2\/jobs\/(\d+)\/completion$/, (match, body) => {
      const request = checked(completeJobRequestBodySchema, body, 'POST /v2/jobs/{jobKey}/completion request');
      return withJob(match, 'complete', (job) => broker.complete(job, request.variables));
    }),
    route(endpoints.failJob.method, /^\/v2\/jobs\/(\d+)\/failure$/, (match, body) => {
      const request = checked(failJobRequestBodySchema, body, 'POST /v2/jobs/{jobKey}/failure request');
      return withJob(match, 'fail', (job) => broker.fail(job, request.retries ?? job.retries - 1, request.errorMessage, request.retryBackOff ?? 0));
    }),
    route(endpoints.throwJobError.method, /^\/v2\/jobs\/(\d+)\/error$/, (match, body) => {
      const request = checked(throwJobErrorRequestBodySchema, body, 'POST /v2/jobs/{jobKey}/error request');
      return withJob(match, 'throw an error for', (job) => broker.throwError(job, request.errorCode, request.errorMessage, request.variables));
    }),
    route(endpoints.updateJob.method, /^\/v2\/jobs\/(\d+)$/, (match, body) => {
      const request = checked(updateJobRequestBodySchema, body, 'PATCH /v2/jobs/{jobKey} request');
      return withJob(match, 'update', (job) => {
        if (request.changeset.timeout !== undefined) {
          broker.updateTimeout(job, request.changeset.timeout);
        }
        if (request.changeset.retries !== undefined) {
          job.retries = request.changeset.retries;
        }
      });
    }),
    route(endpoints.queryJobs.method, /^\/v2\/jobs\/search$/, (_match, body) => {
      const request = checked(queryJobsRequestBodySchema, body, 'POST /v2/jobs/search request');
      const jobKeyFilter = request.filter?.jobKey;
      const items = [...broker.jobs.values()].filter((job) => jobKeyFilter === undefined || job.key === (typeof jobKeyFilter === 'string' ? jobKeyFilter : jobKeyFilter.$eq));
      const page = items.slice(0, request.page?.limit ?? 100).map(searchedJob);
      return { status: 200, body: { items: page, page: { totalItems: items.length } }, schema: queryJobsResponseBodySchema };
    }),
    route(endpoints.getProcessDefinitionXml.method, /^\/v2\/process-definitions\/(\d+)\/xml$/, (match) => {
      const definition = broker.definitions.get(match[1] as string);
      if (definition !== undefined) {
        definition.xmlRequests += 1;
      }
      if (definition === undefined || definition.xmlNotFoundCount > 0) {
        if (definition !== undefined) {
          definition.xmlNotFoundCount -= 1;
        }
        return problem(404, 'NOT_FOUND', `Process definition with key '${match[1]}' not found`, match[0]);
      }
      return { status: 200, body: definition.xml, contentType: 'text/xml' };
    }),
  ];

  function route(method: string, pattern: RegExp, handle: Route['handle']): Route {
    return { method, pattern, handle };
  }

  /** Parses a body with a schema; records a violation and rejects the request when it does not fit. */
  function checked<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const result = schema.safeParse(body);
    if (!result.success) {
      throw new InvalidRequest(`${what} does not match the published schema: ${result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ')}`);
    }
    const unknown = unknownKeys(body, result.data, '');
    if (unknown.length > 0) {
      throw new InvalidRequest(`${what} has keys the published schema does not define: ${unknown.join(', ')}`);
    }
    return result.data;
  }

  function withJob(match: RegExpExecArray, action: string, apply: (job: FakeJob) => void): Reply {
    const job = broker.job(match[1] as string);
    if (job === undefined || job.state === 'completed' || job.state === 'error-thrown' || job.state === 'canceled') {
      return problem(404, 'NOT_FOUND', `Command '${action}' rejected: expected to find job with key '${match[1]}', but no such job was found`, match[0]);
    }
    if (job.state === 'incident') {
      return problem(409, 'INVALID_STATE', `Command '${action}' rejected: job with key '${match[1]}' is failed without retries`, match[0]);
    }
    apply(job);
    return { status: 204 };
  }

  function authorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization;
    switch (auth.type) {
      case 'none':
        return true;
      case 'basic':
        return header === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'oauth':
        return header !== undefined && header.startsWith('Bearer ') && issuedTokens.has(header.slice('Bearer '.length));
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const text = await readBody(request);
    const path = (request.url ?? '').split('?')[0] as string;

    if (path === '/oauth/token' && request.method === 'POST') {
      tokenReply(text, response);
      return;
    }

    let body: unknown;
    try {
      body = text === '' ? undefined : parseJson(text);
    } catch {
      send(response, problem(400, 'INVALID_ARGUMENT', 'the request body is not JSON', path));
      return;
    }
    requests.push({ method: request.method ?? '', path, headers: request.headers, body });

    if (!authorized(request)) {
      send(response, problem(401, 'UNAUTHORIZED', 'missing or invalid credentials', path));
      return;
    }
    const failure = injected.find((candidate) => candidate.pattern.test(path) && candidate.count > 0);
    if (failure !== undefined) {
      failure.count -= 1;
      send(response, problem(failure.status, failure.status === 503 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL', 'failure injected by the test', path));
      return;
    }

    const match = routes
      .filter((candidate) => candidate.method === request.method)
      .map((candidate) => ({ candidate, match: candidate.pattern.exec(path) }))
      .find((entry) => entry.match !== null);
    if (match === undefined) {
      violations.push(`${request.method} ${path} is not an endpoint of the fake`);
      send(response, problem(404, 'NOT_FOUND', `no endpoint ${request.method} ${path}`, path));
      return;
    }
    try {
      send(response, await match.candidate.handle(match.match as RegExpExecArray, body, request));
    } catch (error) {
      if (!(error instanceof InvalidRequest)) {
        throw error;
      }
      violations.push(error.message);
      send(response, problem(400, 'INVALID_ARGUMENT', error.message, path));
    }
  }

  /** Issues a JWT access token for a form-encoded OAuth client credentials request. */
  function tokenReply(text: string, response: ServerResponse): void {
    const form = new URLSearchParams(text);
    const valid = auth.type === 'oauth'
      && form.get('grant_type') === 'client_credentials'
      && form.get('client_id') === auth.clientId
      && form.get('client_secret') === auth.clientSecret
      && form.get('audience') === auth.audience;
    if (!valid) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_client' }));
      return;
    }
    tokensIssued += 1;
    const token = unsignedJwt({ sub: auth.clientId, aud: auth.audience, exp: Math.floor(Date.now() / 1000) + 3600, n: tokensIssued });
    issuedTokens.add(token);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
  }

  /** Checks a response body against its schema, then sends it. */
  function send(response: ServerResponse, reply: Reply): void {
    if (reply.schema !== undefined) {
      const result = reply.schema.safeParse(reply.body);
      const unknown = result.success ? unknownKeys(reply.body, result.data, '') : [];
      if (!result.success || unknown.length > 0) {
        violations.push(`fake response does not match the published schema: ${result.success ? `unknown keys ${unknown.join(', ')}` : result.error.message}`);
      }
    }
    if (reply.body === undefined) {
      response.writeHead(reply.status);
      response.end();
      return;
    }
    const contentType = reply.contentType ?? (reply.status >= 400 ? 'application/problem+json' : 'application/json');
    response.writeHead(reply.status, { 'content-type': contentType });
    response.end(typeof reply.body === 'string' ? reply.body : stringifyJson(reply.body));
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      violations.push(`fake failed: ${error instanceof Error ? error.stack : String(error)}`);
      if (!response.headersSent) {
        response.writeHead(500);
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    tokenUrl: `http://127.0.0.1:${port}/oauth/token`,
    broker,
    requests,
    violations,
    get tokensIssued() {
      return tokensIssued;
    },
    failNext(pattern, status, count = 1) {
      injected.push({ pattern, status, count });
    },
    close: () => new Promise<void>((resolve) => {
      closing.abort();
      broker.stop();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

class InvalidRequest extends Error {}

function problem(status: number, title: string, detail: string, instance: string): Reply {
  return { status, body: { type: 'about:blank', title, status, detail, instance }, schema: problemDetailsSchema };
}

/** Returns the long poll of a `requestTimeout` as Camunda 8 reads it: a negative one responds at once, zero or absent means the default of 10 s. */
function longPollMs(requestTimeout: number | undefined): number {
  if (requestTimeout !== undefined && requestTimeout < 0) {
    return 0;
  }
  return Math.min(requestTimeout === undefined || requestTimeout === 0 ? MAX_LONG_POLL_MS : requestTimeout, MAX_LONG_POLL_MS);
}

function activatedJob(job: FakeJob): Record<string, unknown> {
  return {
    type: job.type,
    processDefinitionId: job.processDefinitionId,
    processDefinitionVersion: job.processDefinitionVersion,
    elementId: job.elementId,
    customHeaders: job.customHeaders,
    worker: job.worker,
    retries: job.retries,
    deadline: job.deadline,
    variables: job.variables,
    tenantId: job.tenantId,
    jobKey: job.key,
    processInstanceKey: job.processInstanceKey,
    processDefinitionKey: job.processDefinitionKey,
    elementInstanceKey: job.elementInstanceKey,
  };
}

const SEARCH_STATE: Record<FakeJob['state'], string> = {
  activatable: 'CREATED',
  activated: 'CREATED',
  completed: 'COMPLETED',
  'error-thrown': 'ERROR_THROWN',
  incident: 'FAILED',
  canceled: 'CANCELED',
};

function searchedJob(job: FakeJob): Record<string, unknown> {
  return {
    jobKey: job.key,
    type: job.type,
    worker: job.worker,
    state: SEARCH_STATE[job.state],
    kind: 'BPMN_ELEMENT',
    listenerEventType: 'UNSPECIFIED',
    retries: job.retries,
    isDenied: false,
    deniedReason: '',
    hasFailedWithRetriesLeft: job.failures.some((failure) => failure.retries > 0),
    errorCode: job.thrownError?.errorCode ?? '',
    errorMessage: job.incidentMessage ?? '',
    customHeaders: job.customHeaders,
    deadline: job.deadline === 0 ? '' : new Date(job.deadline).toISOString(),
    endTime: '',
    processDefinitionId: job.processDefinitionId,
    processDefinitionKey: job.processDefinitionKey,
    processInstanceKey: job.processInstanceKey,
    elementId: job.elementId,
    elementInstanceKey: job.elementInstanceKey,
    tenantId: job.tenantId,
  };
}

/** Lists the keys of `input` that schema parsing dropped, i.e. keys the schema does not define. */
function unknownKeys(input: unknown, parsed: unknown, path: string): string[] {
  if (Array.isArray(input) && Array.isArray(parsed)) {
    return input.flatMap((item, index) => unknownKeys(item, parsed[index], `${path}[${index}]`));
  }
  if (!isPlainObject(input) || !isPlainObject(parsed)) {
    return [];
  }
  return Object.keys(input).flatMap((key) => {
    const at = path === '' ? key : `${path}.${key}`;
    return key in parsed ? unknownKeys(input[key], parsed[key], at) : [at];
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unsignedJwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.fake-signature`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
