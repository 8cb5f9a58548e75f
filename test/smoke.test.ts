import { add } from '../src/util/smoke.ts';
import PQueue from 'p-queue';
import { Client } from 'camunda-external-task-client-js';

test('toolchain runs ESM TypeScript', async () => {
  expect(add(1, 2)).toBe(3);
  const q = new PQueue({ concurrency: 1 });
  expect(await q.add(async () => 5)).toBe(5);
  expect(typeof Client).toBe('function');
});
