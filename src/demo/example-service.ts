/**
 * The downstream HTTP service of the example processes in config/examples:
 * orders, inventory, payments, warehouse, shipping and notifications under
 * one loopback server. It checks each request against the service contract
 * of the daemon and responds by fixed rules, so the outcome of an order follows
 * from its variables (see {@link exampleOrder}).
 */

import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** The SKU that the inventory never has: reserving it responds 409, which maps to OUT_OF_STOCK. */
export const OUT_OF_STOCK_SKU = 'SKU-SOLD-OUT';

/** The payment token that the payments service always declines with 402, which maps to PAYMENT_DECLINED. */
export const DECLINED_PAYMENT_TOKEN = 'tok_declined';

/** Price of every SKU, in cents. */
export const ITEM_PRICE_CENTS = 1999;

/** Weight of every packed SKU, in grams. */
export const ITEM_WEIGHT_GRAMS = 250;

/** Maximum request body size in bytes. Larger bodies get 413. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ExampleServiceOptions {
  /** Loopback address to bind. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Fixed delay in ms before every response. @default 0 */
  latencyMs?: number;
  /** Share of valid requests, from 0 to 1, that get 503 instead of being processed. @default 0 */
  failureRate?: number;
  /**
   * Maximum number of Idempotency-Keys remembered. Keys past the bound are
   * counted in `untrackedKeys` and their repeats are not detected.
   * @default 100_000
   */
  maxTrackedKeys?: number;
}

export interface ExampleServiceStats {
  /** Requests received per URL path, valid or not. */
  requestsByPath: Record<string, number>;
  /** Responses sent per HTTP status code. */
  responsesByStatus: Record<string, number>;
  /**
   * Idempotency-Keys of the requests that the service processed. A request
   * that got 503 from the failure injection, or was rejected as invalid, is
   * not processed, so its retry is not a duplicate.
   */
  idempotencyKeys: ReadonlySet<string>;
  /** Processed requests whose Idempotency-Key had been processed before. */
  duplicateRequests: number;
  /** Processed requests whose key was not remembered because `maxTrackedKeys` was reached. */
  untrackedKeys: number;
  /** Requests that got 503 from the failure injection. */
  injectedFailures: number;
}

export interface ExampleService {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Closes the server and every open connection. Safe to call twice. */
  stop(): Promise<void>;
  /** Returns a copy of the counters. */
  stats(): ExampleServiceStats;
}

/** One order of the demo: what to start an `order-process` instance with, and where it ends. */
export interface ExampleOrder {
  businessKey: string;
  /** Plain string variables, so the engine needs no JSON variable support. */
  variables: {
    orderId: string;
    items: string;
    shipping: 'express' | 'standard';
    paymentToken: string;
    customerEmail: string;
  };
  /** Id of the end event of order-process that the instance reaches. */
  expectedEndEvent: 'order-completed' | 'order-backordered' | 'order-payment-failed';
}

const CATALOG = ['SKU-1001', 'SKU-1002', 'SKU-2001', 'SKU-3005'];

/**
 * Builds the order with the given 0-based index. It has one to three SKUs of
 * the catalog, and the mix of outcomes is fixed: every
 * third order ships express, every tenth (index 9, 19, ...) contains
 * {@link OUT_OF_STOCK_SKU}, and every twentieth starting at index 4 pays with
 * {@link DECLINED_PAYMENT_TOKEN}. So 200 orders give 170 completed, 20
 * back-ordered and 10 with a declined payment.
 */
export function exampleOrder(index: number): ExampleOrder {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new TypeError(`order index must be a non-negative integer, received ${String(index)}`);
  }

  const orderId = `order-${String(index + 1).padStart(4, '0')}`;
  const outOfStock = index % 10 === 9;
  const declined = index % 20 === 4;

  const items: string[] = [];
  for (let position = 0; position <= index % 3; position += 1) {
    items.push(CATALOG[(index + position) % CATALOG.length] as string);
  }
  if (outOfStock) {
    items.push(OUT_OF_STOCK_SKU);
  }

  let expectedEndEvent: ExampleOrder['expectedEndEvent'] = 'order-completed';
  if (outOfStock) {
    expectedEndEvent = 'order-backordered';
  } else if (declined) {
    expectedEndEvent = 'order-payment-failed';
  }

  return {
    businessKey: orderId,
    variables: {
      orderId,
      items: items.join(','),
      shipping: index % 3 === 0 ? 'express' : 'standard',
      paymentToken: declined ? DECLINED_PAYMENT_TOKEN : `tok_visa_${index + 1}`,
      customerEmail: `customer-${index + 1}@example.com`,
    },
    expectedEndEvent,
  };
}

// ---------------------------------------------------------------------------
// Request contract

/** The `task` object of a service request. */
interface TaskInfo {
  id: string;
  topic: string;
  activityId: string;
  processInstanceId: string;
  processDefinitionId: string;
  processDefinitionKey: string | null;
  businessKey: string | null;
  retries: number | null;
  workerId: string;
  tenantId: string | null;
}

interface ServiceRequest {
  variables: Record<string, unknown>;
  task: TaskInfo;
}

interface RouteResponse {
  status: number;
  /** JSON body. Undefined sends an empty body. */
  body?: unknown;
}

const REQUIRED_TASK_STRINGS = ['id', 'topic', 'activityId', 'processInstanceId', 'processDefinitionId', 'workerId'] as const;
const NULLABLE_TASK_STRINGS = ['processDefinitionKey', 'businessKey', 'tenantId'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the request when the body follows the contract, or the reason it does not. */
function parseServiceRequest(body: unknown): ServiceRequest | string {
  if (!isPlainObject(body)) {
    return 'request body must be a JSON object with "variables" and "task"';
  }
  if (!isPlainObject(body.variables)) {
    return '"variables" must be a JSON object';
  }

  const task = body.task;
  if (!isPlainObject(task)) {
    return '"task" must be a JSON object';
  }
  for (const field of REQUIRED_TASK_STRINGS) {
    if (typeof task[field] !== 'string' || task[field] === '') {
      return `"task.${field}" must be a non-empty string, received ${JSON.stringify(task[field]) ?? 'nothing'}`;
    }
  }
  for (const field of NULLABLE_TASK_STRINGS) {
    if (task[field] !== null && typeof task[field] !== 'string') {
      return `"task.${field}" must be a string or null, received ${JSON.stringify(task[field]) ?? 'nothing'}`;
    }
  }
  if (task.retries !== null && !Number.isInteger(task.retries)) {
    return `"task.retries" must be an integer or null, received ${JSON.stringify(task.retries) ?? 'nothing'}`;
  }

  return { variables: body.variables, task: task as unknown as TaskInfo };
}

// ---------------------------------------------------------------------------
// Routes

type RouteHandler = (variables: Record<string, unknown>) => RouteResponse;

function invalidVariable(name: string, expected: string, variables: Record<string, unknown>): RouteResponse {
  const received = JSON.stringify(variables[name]) ?? 'nothing';
  return { status: 422, body: { message: `variable "${name}" must be ${expected}, received ${received}` } };
}

function readString(variables: Record<string, unknown>, name: string): string | undefined {
  const value = variables[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads `items`: a comma-separated string of SKUs or a JSON array of SKU strings. */
function readSkus(variables: Record<string, unknown>): string[] | undefined {
  const value = variables.items;
  let skus: unknown[];
  if (typeof value === 'string') {
    skus = value.split(',').map((sku) => sku.trim());
  } else if (Array.isArray(value)) {
    skus = value;
  } else {
    return undefined;
  }

  const valid = skus.every((sku) => typeof sku === 'string' && sku !== '');
  return valid && skus.length > 0 ? (skus as string[]) : undefined;
}

const SKU_LIST = 'a non-empty list of SKUs (comma-separated string or array of strings)';

const validateOrder: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const skus = readSkus(variables);
  if (skus === undefined) return invalidVariable('items', SKU_LIST, variables);
  const email = readString(variables, 'customerEmail');
  if (email === undefined || !email.includes('@')) return invalidVariable('customerEmail', 'an e-mail address', variables);

  return { status: 200, body: { variables: { orderTotalCents: skus.length * ITEM_PRICE_CENTS, itemCount: skus.length } } };
};

const prioritizeOrder: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const shipping = readString(variables, 'shipping');
  if (shipping !== 'express' && shipping !== 'standard') return invalidVariable('shipping', '"express" or "standard"', variables);

  return { status: 200, body: { variables: { priority: shipping === 'express' ? 'high' : 'normal' } } };
};

const reserveStock: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const skus = readSkus(variables);
  if (skus === undefined) return invalidVariable('items', SKU_LIST, variables);

  const missing = skus.filter((sku) => sku === OUT_OF_STOCK_SKU);
  if (missing.length > 0) {
    const missingSkus = [...new Set(missing)].join(',');
    return { status: 409, body: { message: `${missingSkus} out of stock for ${orderId}`, variables: { missingSkus } } };
  }

  return { status: 200, body: { variables: { reservationId: `RES-${orderId}` } } };
};

const releaseStock: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  if (readSkus(variables) === undefined) return invalidVariable('items', SKU_LIST, variables);

  return { status: 200, body: { variables: { stockReleased: true } } };
};

const chargePayment: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const total = variables.orderTotalCents;
  if (!Number.isSafeInteger(total) || (total as number) < 0) return invalidVariable('orderTotalCents', 'a non-negative integer', variables);
  const token = readString(variables, 'paymentToken');
  if (token === undefined) return invalidVariable('paymentToken', 'a non-empty string', variables);

  if (token === DECLINED_PAYMENT_TOKEN) {
    return { status: 402, body: { message: `card declined for ${orderId}`, variables: { declineReason: 'card_declined' } } };
  }
  return { status: 200, body: { variables: { paymentId: `PAY-${orderId}` } } };
};

const packItems: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const skus = readSkus(variables);
  if (skus === undefined) return invalidVariable('items', SKU_LIST, variables);

  return { status: 200, body: { variables: { parcelId: `PCL-${orderId}`, parcelWeightGrams: skus.length * ITEM_WEIGHT_GRAMS } } };
};

const shipParcel: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  if (readString(variables, 'parcelId') === undefined) return invalidVariable('parcelId', 'a non-empty string', variables);
  const carrier = readString(variables, 'carrier');
  if (carrier !== 'express-courier' && carrier !== 'ground') return invalidVariable('carrier', '"express-courier" or "ground"', variables);

  const prefix = carrier === 'express-courier' ? 'EXP' : 'GND';
  return { status: 200, body: { variables: { trackingNumber: `${prefix}-${orderId}` } } };
};

const sendConfirmation: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const recipient = readString(variables, 'recipient');
  if (recipient === undefined || !recipient.includes('@')) return invalidVariable('recipient', 'an e-mail address', variables);
  if (readString(variables, 'template') === undefined) return invalidVariable('template', 'a non-empty string', variables);
  if (readString(variables, 'trackingNumber') === undefined) return invalidVariable('trackingNumber', 'a non-empty string', variables);

  return { status: 200, body: { variables: { confirmationId: `CNF-${orderId}` } } };
};

const notifyBackorder: RouteHandler = (variables) => {
  const orderId = readString(variables, 'orderId');
  if (orderId === undefined) return invalidVariable('orderId', 'a non-empty string', variables);
  const email = readString(variables, 'customerEmail');
  if (email === undefined || !email.includes('@')) return invalidVariable('customerEmail', 'an e-mail address', variables);

  return { status: 204 };
};

const ROUTES: ReadonlyMap<string, RouteHandler> = new Map([
  ['/orders/validate', validateOrder],
  ['/orders/prioritize', prioritizeOrder],
  ['/inventory/reserve', reserveStock],
  ['/inventory/release', releaseStock],
  ['/payments/charge', chargePayment],
  ['/warehouse/pack', packItems],
  ['/shipping/parcels', shipParcel],
  ['/notifications/order-confirmation', sendConfirmation],
  ['/notifications/backorder', notifyBackorder],
]);

/** URL paths the service serves, all with POST. */
export const EXAMPLE_SERVICE_PATHS: readonly string[] = [...ROUTES.keys()];

// ---------------------------------------------------------------------------
// Server

type ServiceState = 'running' | 'stopping' | 'stopped';

interface CompiledOptions {
  host: string;
  port: number;
  latencyMs: number;
  failureRate: number;
  maxTrackedKeys: number;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function compileOptions(options: ExampleServiceOptions): CompiledOptions {
  const { host = '127.0.0.1', port = 0, latencyMs = 0, failureRate = 0, maxTrackedKeys = 100_000 } = options;

  if (!isLoopback(host)) {
    throw new TypeError(`host must be a loopback address (127.0.0.1, ::1 or localhost), received ${host}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`port must be an integer from 0 to 65535, received ${port}`);
  }
  if (!Number.isFinite(latencyMs) || latencyMs < 0) {
    throw new TypeError(`latencyMs must be a finite number >= 0, received ${latencyMs}`);
  }
  if (!(failureRate >= 0 && failureRate <= 1)) {
    throw new TypeError(`failureRate must be a number from 0 to 1, received ${failureRate}`);
  }
  if (!Number.isSafeInteger(maxTrackedKeys) || maxTrackedKeys < 1) {
    throw new TypeError(`maxTrackedKeys must be a positive integer, received ${maxTrackedKeys}`);
  }

  return Object.freeze({ host, port, latencyMs, failureRate, maxTrackedKeys });
}

/** Reads the body, or returns undefined when it exceeds {@link MAX_BODY_BYTES}. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) {
      chunks.push(chunk as Buffer);
    }
  }
  return size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined;
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Starts the example service on a loopback address and resolves once it
 * listens. Every route takes POST with the daemon's request body
 * (`{ variables, task }`) and the daemon's `Idempotency-Key` header,
 * `<task.id>:<task.retries>` with `initial` for null retries.
 * A malformed body or header gets 400, a missing or wrong variable 422.
 */
export async function startExampleService(options: ExampleServiceOptions = {}): Promise<ExampleService> {
  const config = compileOptions(options);

  const requestsByPath: Record<string, number> = {};
  const responsesByStatus: Record<string, number> = {};
  const seenKeys = new Set<string>();
  let duplicateRequests = 0;
  let untrackedKeys = 0;
  let injectedFailures = 0;

  let state: ServiceState = 'running';
  let stopped: Promise<void> | undefined;
  const shutdown = new AbortController();

  function send(response: ServerResponse, reply: RouteResponse): void {
    increment(responsesByStatus, String(reply.status));
    if (reply.body === undefined) {
      response.writeHead(reply.status).end();
      return;
    }
    const text = JSON.stringify(reply.body);
    response.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  /** Counts the key of a processed request; a key seen before is a duplicate. */
  function recordKey(key: string): void {
    if (seenKeys.has(key)) {
      duplicateRequests += 1;
    } else if (seenKeys.size < config.maxTrackedKeys) {
      seenKeys.add(key);
    } else {
      untrackedKeys += 1;
    }
  }

  async function processRequest(request: IncomingMessage, path: string): Promise<RouteResponse> {
    const handler = ROUTES.get(path);
    if (handler === undefined) {
      return { status: 404, body: { message: `${path} not found. Routes: ${EXAMPLE_SERVICE_PATHS.join(', ')}` } };
    }
    if (request.method !== 'POST') {
      return { status: 405, body: { message: `${path} accepts POST, received ${request.method ?? 'no method'}` } };
    }
    const contentType = request.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return { status: 415, body: { message: `content-type must be application/json, received ${contentType || 'none'}` } };
    }

    const text = await readBody(request);
    if (text === undefined) {
      return { status: 413, body: { message: `request body exceeds ${MAX_BODY_BYTES} bytes` } };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return { status: 400, body: { message: `request body is not valid JSON: ${(error as Error).message}` } };
    }
    const parsed = parseServiceRequest(body);
    if (typeof parsed === 'string') {
      return { status: 400, body: { message: parsed } };
    }
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') {
      return { status: 400, body: { message: 'Idempotency-Key header is missing. Send <task.id>:<task.retries> in it.' } };
    }
    const expectedKey = `${parsed.task.id}:${parsed.task.retries === null ? 'initial' : parsed.task.retries}`;
    if (key !== expectedKey) {
      return { status: 400, body: { message: `Idempotency-Key ${key} differs from ${expectedKey}, the task id and its retries` } };
    }

    if (config.latencyMs > 0) {
      await sleep(config.latencyMs, undefined, { signal: shutdown.signal });
    }
    if (config.failureRate > 0 && Math.random() < config.failureRate) {
      injectedFailures += 1;
      return { status: 503, body: { message: 'failure injected by the example service (failureRate)' } };
    }

    recordKey(key);
    return handler(parsed.variables);
  }

  async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://service.invalid').pathname;
    increment(requestsByPath, path);

    try {
      send(response, await processRequest(request, path));
    } catch (error) {
      if (shutdown.signal.aborted) {
        // stop() closed the connection, so no response can be sent.
        return;
      }
      send(response, { status: 500, body: { message: `example service failed: ${(error as Error).message}` } });
    }
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (request, response) => {
    void onRequest(request, response);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  async function stop(): Promise<void> {
    if (state !== 'running') {
      return stopped;
    }
    state = 'stopping';
    stopped = new Promise<void>((resolve) => {
      server.close(() => {
        state = 'stopped';
        resolve();
      });
      shutdown.abort();
      server.closeAllConnections();
    });
    return stopped;
  }

  function stats(): ExampleServiceStats {
    return {
      requestsByPath: { ...requestsByPath },
      responsesByStatus: { ...responsesByStatus },
      idempotencyKeys: new Set(seenKeys),
      duplicateRequests,
      untrackedKeys,
      injectedFailures,
    };
  }

  return { url: `http://${hostInUrl}:${address.port}`, stop, stats };
}
