import { failureReport } from '../../src/daemon/failure-policy.ts';
import type { Task } from '../../src/engine/types.ts';

const policy = { retries: 3, retryTimeoutMs: 1_000, maxRetryTimeoutMs: 3_000 };

function taskWithRetries(retries: number | null): Task {
  return {
    id: 't', topic: 'x', activityId: 'A', activityInstanceId: undefined, processInstanceId: 'p', processDefinitionId: 'd',
    processDefinitionKey: undefined, businessKey: undefined, tenantId: undefined, retries, priority: 0, workerId: 'w', lockExpiresAt: undefined,
  };
}

describe('failureReport', () => {
  test('retries count down with a growing timeout', () => {
    const reports = [null, 2, 1].map((retries) => failureReport(taskWithRetries(retries), { message: 'boom', details: undefined }, policy));

    expect(reports.map((report) => report.retries)).toEqual([2, 1, 0]);
    expect(reports.map((report) => report.retryTimeoutMs)).toEqual([1_000, 2_000, 0]);
  });

  test('retry timeout stops at the maximum', () => {
    const long = { retries: 10, retryTimeoutMs: 1_000, maxRetryTimeoutMs: 3_000 };
    const report = failureReport(taskWithRetries(5), { message: 'boom', details: undefined }, long);

    expect(report.retryTimeoutMs).toBe(3_000);
  });

  test('non-retryable failure goes straight to zero', () => {
    const report = failureReport(taskWithRetries(null), { message: 'bad route', details: undefined, retryable: false }, policy);

    expect(report.retries).toBe(0);
  });

  test('long message is shortened for the engine', () => {
    const report = failureReport(taskWithRetries(null), { message: 'x'.repeat(2_000), details: 'full text' }, policy);

    expect(report.message.length).toBeLessThanOrEqual(600);
    expect(report.details).toBe('full text');
  });
});
