import { chaosPassed, runChaos } from '../../bench/chaos/run.ts';
import type { Delivery } from '../../bench/chaos/service.ts';
import { checkTasks, classifyDeliveries, type DaemonGeneration } from '../../bench/chaos/verify.ts';

function delivery(fields: Partial<Delivery> & Pick<Delivery, 'workerId' | 'receivedAt'>): Delivery {
  return {
    taskId: 't-1',
    idempotencyKey: 't-1:initial',
    path: '/a',
    status: 200,
    answeredAt: fields.receivedAt + 5,
    fault: 'none',
    ...fields,
  };
}

const generations: DaemonGeneration[] = [
  { workerId: 'chaos-0', startedAt: 0, killedAt: 1_000 },
  { workerId: 'chaos-1', startedAt: 1_500, killedAt: undefined },
];

describe('chaos verifier with recorded deliveries', () => {
  test('redelivery after a kill is expected', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-0', receivedAt: 900, status: undefined }),
      delivery({ workerId: 'chaos-1', receivedAt: 7_000 }),
    ], generations, []);

    expect(findings.redeliveriesAfterLockExpiry).toBe(1);
    expect(findings.duplicatesWithoutLockExpiry).toBe(0);
  });

  test('redelivery to a live holder is a duplicate', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-1', receivedAt: 2_000 }),
      delivery({ workerId: 'chaos-1', receivedAt: 3_000 }),
    ], generations, []);

    expect(findings.duplicatesWithoutLockExpiry).toBe(1);
    expect(findings.examples).toEqual(['t-1']);
  });

  test('engine outage explains a redelivery', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-1', receivedAt: 2_000 }),
      delivery({ workerId: 'chaos-1', receivedAt: 9_000 }),
    ], generations, [{ from: 2_500, to: 8_000 }]);

    expect(findings.redeliveriesAfterLockExpiry).toBe(1);
    expect(findings.duplicatesWithoutLockExpiry).toBe(0);
  });

  test('retry of a 503 is an in-daemon retry', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-1', receivedAt: 2_000, status: 503 }),
      delivery({ workerId: 'chaos-1', receivedAt: 2_300 }),
    ], generations, []);

    expect(findings.inDaemonRetries).toBe(1);
    expect(findings.duplicatesWithoutLockExpiry).toBe(0);
  });

  test('new key after a 2xx is flagged', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-1', receivedAt: 2_000 }),
      delivery({ workerId: 'chaos-1', receivedAt: 2_300, idempotencyKey: 't-1:9' }),
    ], generations, []);

    expect(findings.duplicatesWithNewKey).toBe(1);
  });

  test('engine retry after a lost 2xx is expected', () => {
    const findings = classifyDeliveries([
      delivery({ workerId: 'chaos-0', receivedAt: 900 }),
      delivery({ workerId: 'chaos-1', receivedAt: 7_000, status: 500 }),
      delivery({ workerId: 'chaos-1', receivedAt: 7_400, idempotencyKey: 't-1:9' }),
    ], generations, []);

    expect(findings.redeliveriesAfterLockExpiry).toBe(1);
    expect(findings.duplicatesWithNewKey).toBe(0);
    expect(findings.duplicatesWithoutLockExpiry).toBe(0);
  });

  test('task without a success log is lost', () => {
    const log = [
      { externalTaskId: 't-1', processInstanceId: 'p-1', creationLog: true, successLog: false, failureLog: false },
      { externalTaskId: 't-2', processInstanceId: 'p-1', creationLog: true, successLog: false, failureLog: false },
      { externalTaskId: 't-2', processInstanceId: 'p-1', creationLog: false, successLog: true, failureLog: false },
    ];
    const findings = checkTasks(log, [delivery({ taskId: 't-2', workerId: 'chaos-1', receivedAt: 2_000 })]);

    expect(findings.tasksCreated).toBe(2);
    expect(findings.tasksLost).toBe(1);
    expect(findings.examples).toEqual(['t-1']);
  });
});

describe('chaos run on the real engine', () => {
  test('small run loses nothing', async () => {
    const result = await runChaos({ instances: 20, seed: 7, killIntervalMs: [2_000, 5_000], deadlineMs: 150_000 });

    expect(result.instancesStarted).toBe(20);
    expect(result.instancesEnded).toBe(20);
    expect(result.tasksLost).toBe(0);
    expect(result.duplicatesWithoutLockExpiry).toBe(0);
    expect(result.duplicatesWithNewKey).toBe(0);
    expect(result.unexpectedIncidents).toBe(0);
    expect(result.daemonKills).toBeGreaterThan(0);
    expect(result.engineRestarts).toBe(1);
    expect(chaosPassed(result)).toBe(true);
  }, 400_000);
});
