/**
 * Deploys the example processes of config/examples to ENGINE_URL and starts
 * ORDERS order instances (default 100), one every ORDER_INTERVAL_MS
 * (default 200), so the dashboards of deploy/docker-compose.yaml have
 * traffic to show. Exits when the last instance has started.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { exampleOrder } from '../../src/demo/example-service.ts';

const engineUrl = process.env.ENGINE_URL ?? 'http://127.0.0.1:8080/engine-rest';
const orders = readCount('ORDERS', 100);
const intervalMs = readCount('ORDER_INTERVAL_MS', 200);

function readCount(name: string, fallback: number): number {
  const text = process.env[name];
  const value = text === undefined || text === '' ? fallback : Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`start-orders: invalid ${name} ${JSON.stringify(text)}; use a non-negative integer\n`);
    process.exit(2);
  }
  return value;
}

const examples = resolve(import.meta.dirname, '../../config/examples');
await deployBpmn(engineUrl, [resolve(examples, 'ship-order.bpmn'), resolve(examples, 'order-process.bpmn')], { deploymentName: 'example-orders' });
process.stdout.write(`${JSON.stringify({ msg: 'example processes deployed', engineUrl })}\n`);

for (let index = 0; index < orders; index += 1) {
  const order = exampleOrder(index);
  await startProcessInstance(engineUrl, 'order-process', { businessKey: order.businessKey, variables: order.variables });
  await sleep(intervalMs);
}
process.stdout.write(`${JSON.stringify({ msg: 'orders started', orders })}\n`);
