import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';

import {
  DECLINED_PAYMENT_TOKEN,
  EXAMPLE_SERVICE_PATHS,
  ITEM_PRICE_CENTS,
  OUT_OF_STOCK_SKU,
  exampleOrder,
  startExampleService,
} from '../../src/demo/example-service.ts';
import type { ExampleService } from '../../src/demo/example-service.ts';

interface CallOptions {
  key?: string | null;
  taskId?: string;
  method?: string;
  contentType?: string;
  rawBody?: string;
  task?: Record<string, unknown>;
}

function taskFor(id: string, topic: string): Record<string, unknown> {
  return {
    id,
    topic,
    activityId: topic,
    processInstanceId: 'instance-1',
    processDefinitionId: 'order-process:1:abc',
    processDefinitionKey: 'order-process',
    businessKey: 'order-0001',
    retries: null,
    workerId: 'test-worker',
    tenantId: null,
  };
}

async function call(
  service: ExampleService,
  path: string,
  variables: Record<string, unknown>,
  options: CallOptions = {},
): Promise<{ status: number; body: any; text: string }> {
  const taskId = options.taskId ?? randomUUID();
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  const key = options.key === undefined ? `${taskId}:initial` : options.key;
  if (key !== null) {
    headers['idempotency-key'] = key;
  }
  const body = options.rawBody ?? JSON.stringify({ variables, task: options.task ?? taskFor(taskId, path.split('/')[2] ?? 'topic') });
  const method = options.method ?? 'POST';

  const response = await fetch(`${service.url}${path}`, { method, headers, body: method === 'GET' ? undefined : body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), text };
}

const order = { orderId: 'order-0001', items: 'SKU-1001,SKU-2001', customerEmail: 'ada@example.com' };

describe('example service routes', () => {
  let service: ExampleService;

  beforeAll(async () => {
    service = await startExampleService();
  });

  afterAll(async () => {
    await service.stop();
  });

  test('binds to loopback on a free port', () => {
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(service.url).not.toMatch(/:0$/);
  });

  test('validate-order computes total and count', async () => {
    const response = await call(service, '/orders/validate', order);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { orderTotalCents: 2 * ITEM_PRICE_CENTS, itemCount: 2 } });
  });

  test('validate-order accepts items as array', async () => {
    const response = await call(service, '/orders/validate', { ...order, items: ['SKU-1001', 'SKU-1002', 'SKU-3005'] });

    expect(response.status).toBe(200);
    expect(response.body.variables.itemCount).toBe(3);
  });

  test('prioritize-order sets priority', async () => {
    const express = await call(service, '/orders/prioritize', { orderId: 'order-0001', shipping: 'express' });
    const standard = await call(service, '/orders/prioritize', { orderId: 'order-0002', shipping: 'standard' });

    expect(express.status).toBe(200);
    expect(express.body).toEqual({ variables: { priority: 'high' } });
    expect(standard.body).toEqual({ variables: { priority: 'normal' } });
  });

  test('reserve-stock reserves available SKUs', async () => {
    const response = await call(service, '/inventory/reserve', order);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { reservationId: 'RES-order-0001' } });
  });

  test('reserve-stock rejects sold-out SKU with 409', async () => {
    const response = await call(service, '/inventory/reserve', { ...order, items: `SKU-1001,${OUT_OF_STOCK_SKU}` });

    expect(response.status).toBe(409);
    expect(response.body.message).toContain(OUT_OF_STOCK_SKU);
    expect(response.body.variables).toEqual({ missingSkus: OUT_OF_STOCK_SKU });
  });

  test('release-stock releases reservation', async () => {
    const response = await call(service, '/inventory/release', order);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { stockReleased: true } });
  });

  test('charge-payment charges valid token', async () => {
    const response = await call(service, '/payments/charge', { orderId: 'order-0001', orderTotalCents: 3998, paymentToken: 'tok_visa_1' });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { paymentId: 'PAY-order-0001' } });
  });

  test('charge-payment declines token with 402', async () => {
    const response = await call(service, '/payments/charge', { orderId: 'order-0005', orderTotalCents: 1999, paymentToken: DECLINED_PAYMENT_TOKEN });

    expect(response.status).toBe(402);
    expect(response.body.message).toContain('order-0005');
    expect(response.body.variables).toEqual({ declineReason: 'card_declined' });
  });

  test('charge-payment rejects fractional total', async () => {
    const response = await call(service, '/payments/charge', { orderId: 'order-0001', orderTotalCents: 19.99, paymentToken: 'tok_visa_1' });

    expect(response.status).toBe(422);
    expect(response.body.message).toContain('orderTotalCents');
  });

  test('pack-items returns parcel and weight', async () => {
    const response = await call(service, '/warehouse/pack', order);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { parcelId: 'PCL-order-0001', parcelWeightGrams: 500 } });
  });

  test('ship-parcel tracking number per carrier', async () => {
    const parcel = { orderId: 'order-0001', parcelId: 'PCL-order-0001', parcelWeightGrams: 500 };
    const express = await call(service, '/shipping/parcels', { ...parcel, carrier: 'express-courier' });
    const ground = await call(service, '/shipping/parcels', { ...parcel, carrier: 'ground' });
    const unknown = await call(service, '/shipping/parcels', { ...parcel, carrier: 'pigeon' });

    expect(express.status).toBe(200);
    expect(express.body).toEqual({ variables: { trackingNumber: 'EXP-order-0001' } });
    expect(ground.body).toEqual({ variables: { trackingNumber: 'GND-order-0001' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.message).toContain('carrier');
  });

  test('send-confirmation returns confirmation id', async () => {
    const response = await call(service, '/notifications/order-confirmation', {
      orderId: 'order-0001',
      recipient: 'ada@example.com',
      template: 'order-confirmation',
      trackingNumber: 'GND-order-0001',
      carrier: 'ground',
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ variables: { confirmationId: 'CNF-order-0001' } });
  });

  test('notify-backorder responds 204 without body', async () => {
    const response = await call(service, '/notifications/backorder', {
      orderId: 'order-0010',
      customerEmail: 'ada@example.com',
      missingSkus: OUT_OF_STOCK_SKU,
    });

    expect(response.status).toBe(204);
    expect(response.text).toBe('');
  });

  test('missing variable gets 422', async () => {
    const response = await call(service, '/orders/validate', { orderId: 'order-0001', customerEmail: 'ada@example.com' });

    expect(response.status).toBe(422);
    expect(response.body.message).toBe('variable "items" must be a non-empty list of SKUs (comma-separated string or array of strings), received nothing');
  });

  test('every documented path has a route', async () => {
    for (const path of EXAMPLE_SERVICE_PATHS) {
      const response = await call(service, path, {});
      expect({ path, status: response.status }).toEqual({ path, status: 422 });
    }
  });
});

describe('example service request checks', () => {
  let service: ExampleService;

  beforeAll(async () => {
    service = await startExampleService();
  });

  afterAll(async () => {
    await service.stop();
  });

  test('invalid JSON gets 400', async () => {
    const response = await call(service, '/orders/validate', {}, { rawBody: '{"variables": ' });

    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/^request body is not valid JSON/);
  });

  test.each([
    ['array body', '[]', 'request body must be a JSON object with "variables" and "task"'],
    ['missing variables', JSON.stringify({ task: taskFor('t-1', 'validate-order') }), '"variables" must be a JSON object'],
    ['variables as array', JSON.stringify({ variables: [], task: taskFor('t-1', 'validate-order') }), '"variables" must be a JSON object'],
    ['missing task', JSON.stringify({ variables: {} }), '"task" must be a JSON object'],
    ['empty task id', JSON.stringify({ variables: {}, task: { ...taskFor('t-1', 'validate-order'), id: '' } }), '"task.id" must be a non-empty string, received ""'],
    ['missing activityId', JSON.stringify({ variables: {}, task: { ...taskFor('t-1', 'validate-order'), activityId: undefined } }), '"task.activityId" must be a non-empty string, received nothing'],
    ['numeric businessKey', JSON.stringify({ variables: {}, task: { ...taskFor('t-1', 'validate-order'), businessKey: 7 } }), '"task.businessKey" must be a string or null, received 7'],
    ['missing tenantId', JSON.stringify({ variables: {}, task: { ...taskFor('t-1', 'validate-order'), tenantId: undefined } }), '"task.tenantId" must be a string or null, received nothing'],
    ['string retries', JSON.stringify({ variables: {}, task: { ...taskFor('t-1', 'validate-order'), retries: '3' } }), '"task.retries" must be an integer or null, received "3"'],
  ])('%s gets 400', async (_name, rawBody, message) => {
    const response = await call(service, '/orders/validate', {}, { rawBody, key: 't-1' });

    expect(response.status).toBe(400);
    expect(response.body.message).toBe(message);
  });

  test('null task fields are accepted', async () => {
    const task = { ...taskFor('t-null', 'validate-order'), processDefinitionKey: null, businessKey: null, tenantId: null, retries: null };
    const response = await call(service, '/orders/validate', order, { taskId: 't-null', task });

    expect(response.status).toBe(200);
  });

  test('missing Idempotency-Key gets 400', async () => {
    const response = await call(service, '/orders/validate', order, { key: null });

    expect(response.status).toBe(400);
    expect(response.body.message).toContain('Idempotency-Key header is missing');
  });

  test('Idempotency-Key of another task gets 400', async () => {
    const response = await call(service, '/orders/validate', order, { taskId: 'task-a', key: 'task-b:initial' });

    expect(response.status).toBe(400);
    expect(response.body.message).toBe('Idempotency-Key task-b:initial differs from task-a:initial, the task id and its retries');
  });

  test('Idempotency-Key of another attempt gets 400', async () => {
    const task = { ...taskFor('task-a', 'validate-order'), retries: 2 };
    const response = await call(service, '/orders/validate', order, { taskId: 'task-a', task, key: 'task-a:initial' });

    expect(response.status).toBe(400);
    expect(response.body.message).toBe('Idempotency-Key task-a:initial differs from task-a:2, the task id and its retries');
  });

  test('wrong content type gets 415', async () => {
    const response = await call(service, '/orders/validate', order, { contentType: 'text/plain' });

    expect(response.status).toBe(415);
  });

  test('GET gets 405', async () => {
    const response = await call(service, '/orders/validate', order, { method: 'GET' });

    expect(response.status).toBe(405);
  });

  test('unknown path gets 404', async () => {
    const response = await call(service, '/orders/cancel', order);

    expect(response.status).toBe(404);
    expect(response.body.message).toContain('/orders/validate');
  });

  test('rejected requests record no key', async () => {
    await call(service, '/orders/validate', order, { taskId: 'rejected-task', contentType: 'text/plain' });

    expect(service.stats().idempotencyKeys.has('rejected-task:initial')).toBe(false);
  });
});

describe('example service stats', () => {
  let service: ExampleService;

  beforeAll(async () => {
    service = await startExampleService();
  });

  afterAll(async () => {
    await service.stop();
  });

  test('duplicate Idempotency-Keys are counted', async () => {
    await call(service, '/inventory/reserve', order, { taskId: 'task-1' });
    await call(service, '/inventory/reserve', order, { taskId: 'task-1' });
    await call(service, '/inventory/reserve', order, { taskId: 'task-1' });
    await call(service, '/payments/charge', { orderId: 'order-0001', orderTotalCents: 1, paymentToken: 'tok' }, { taskId: 'task-2' });

    const stats = service.stats();
    expect(stats.duplicateRequests).toBe(2);
    expect([...stats.idempotencyKeys].sort()).toEqual(['task-1:initial', 'task-2:initial']);
    expect(stats.requestsByPath).toEqual({ '/inventory/reserve': 3, '/payments/charge': 1 });
    expect(stats.responsesByStatus).toEqual({ 200: 4 });
    expect(stats.untrackedKeys).toBe(0);
    expect(stats.injectedFailures).toBe(0);
  });

  test('stats returns a copy', async () => {
    const before = service.stats();
    await call(service, '/orders/validate', order, { taskId: 'task-3' });

    expect(before.idempotencyKeys.has('task-3:initial')).toBe(false);
    expect(before.requestsByPath['/orders/validate']).toBeUndefined();
    expect(service.stats().idempotencyKeys.has('task-3:initial')).toBe(true);
  });
});

describe('example service options', () => {
  test('failureRate 1 answers 503 and records no key', async () => {
    const service = await startExampleService({ failureRate: 1 });
    try {
      const first = await call(service, '/orders/validate', order, { taskId: 'task-1' });
      const retry = await call(service, '/orders/validate', order, { taskId: 'task-1' });

      expect(first.status).toBe(503);
      expect(retry.status).toBe(503);
      const stats = service.stats();
      expect(stats.injectedFailures).toBe(2);
      expect(stats.idempotencyKeys.size).toBe(0);
      expect(stats.duplicateRequests).toBe(0);
    } finally {
      await service.stop();
    }
  });

  test('latencyMs delays the response', async () => {
    const service = await startExampleService({ latencyMs: 200 });
    try {
      const started = performance.now();
      const response = await call(service, '/orders/validate', order);

      expect(response.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await service.stop();
    }
  });

  test('maxTrackedKeys bounds the key set', async () => {
    const service = await startExampleService({ maxTrackedKeys: 2 });
    try {
      for (const taskId of ['task-1', 'task-2', 'task-3', 'task-4']) {
        await call(service, '/orders/validate', order, { taskId });
      }

      const stats = service.stats();
      expect(stats.idempotencyKeys.size).toBe(2);
      expect(stats.untrackedKeys).toBe(2);
    } finally {
      await service.stop();
    }
  });

  test.each([
    ['host', { host: '0.0.0.0' }, 'host must be a loopback address (127.0.0.1, ::1 or localhost), received 0.0.0.0'],
    ['port', { port: 70_000 }, 'port must be an integer from 0 to 65535, received 70000'],
    ['latencyMs', { latencyMs: -1 }, 'latencyMs must be a finite number >= 0, received -1'],
    ['failureRate above 1', { failureRate: 1.5 }, 'failureRate must be a number from 0 to 1, received 1.5'],
    ['failureRate NaN', { failureRate: Number.NaN }, 'failureRate must be a number from 0 to 1, received NaN'],
    ['maxTrackedKeys', { maxTrackedKeys: 0 }, 'maxTrackedKeys must be a positive integer, received 0'],
  ])('invalid %s is rejected', async (_name, options, message) => {
    await expect(startExampleService(options)).rejects.toThrow(new TypeError(message));
  });
});

describe('example service stop', () => {
  test('stop frees the port', async () => {
    const service = await startExampleService();
    const port = Number(new URL(service.url).port);
    await call(service, '/orders/validate', order);

    await service.stop();

    await expect(fetch(`${service.url}/orders/validate`)).rejects.toThrow();
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  test('stop twice resolves', async () => {
    const service = await startExampleService();

    await Promise.all([service.stop(), service.stop()]);
    await expect(service.stop()).resolves.toBeUndefined();
  });

  test('stop ends delayed requests', async () => {
    const service = await startExampleService({ latencyMs: 60_000 });
    const pending = call(service, '/orders/validate', order);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = performance.now();
    await service.stop();

    expect(performance.now() - started).toBeLessThan(5_000);
    await expect(pending).rejects.toThrow();
  });
});

describe('exampleOrder', () => {
  test('200 orders give the documented mix', () => {
    const orders = Array.from({ length: 200 }, (_, index) => exampleOrder(index));
    const ends = orders.map((order) => order.expectedEndEvent);

    expect(ends.filter((end) => end === 'order-completed')).toHaveLength(170);
    expect(ends.filter((end) => end === 'order-backordered')).toHaveLength(20);
    expect(ends.filter((end) => end === 'order-payment-failed')).toHaveLength(10);
  });

  test('completed orders take both shipping branches', () => {
    const completed = Array.from({ length: 200 }, (_, index) => exampleOrder(index)).filter((order) => order.expectedEndEvent === 'order-completed');

    expect(completed.some((order) => order.variables.shipping === 'express')).toBe(true);
    expect(completed.some((order) => order.variables.shipping === 'standard')).toBe(true);
  });

  test('outcome follows from variables', () => {
    for (let index = 0; index < 200; index += 1) {
      const { variables, expectedEndEvent } = exampleOrder(index);
      const soldOut = variables.items.split(',').includes(OUT_OF_STOCK_SKU);
      const declined = variables.paymentToken === DECLINED_PAYMENT_TOKEN;

      expect({ index, soldOut }).toEqual({ index, soldOut: expectedEndEvent === 'order-backordered' });
      expect({ index, declined }).toEqual({ index, declined: expectedEndEvent === 'order-payment-failed' });
    }
  });

  test('order ids and keys are unique', () => {
    const ids = new Set(Array.from({ length: 200 }, (_, index) => exampleOrder(index).businessKey));

    expect(ids.size).toBe(200);
  });

  test('negative index is rejected', () => {
    expect(() => exampleOrder(-1)).toThrow(new TypeError('order index must be a non-negative integer, received -1'));
  });
});
