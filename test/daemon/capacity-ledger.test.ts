/**
 * Narrow unit tests of the capacity ledger's bookkeeping, with a fake lane
 * capacity in place of the dispatcher. The daemon tests on the real engine
 * cover how fetching follows it.
 */
import type { TopicOptions } from '../../src/config/types.ts';
import { CapacityLedger, type LaneCapacity } from '../../src/daemon/capacity.ts';

const fakeLaneCapacity: LaneCapacity = {
  slotLimit: () => 2,
  breakerAdmits: () => Number.POSITIVE_INFINITY,
};

const topic = { topic: 'reserve', service: 'inventory' } as TopicOptions;

function ledgerWithTwoSlots(): CapacityLedger {
  return new CapacityLedger(fakeLaneCapacity, [topic], (options) => options.service);
}

/** Fetches `count` tasks through the ledger and returns their holds. */
function fetchTasks(ledger: CapacityLedger, count: number) {
  const plan = ledger.plan([topic], 10);
  if (plan === undefined) {
    throw new Error('expected a fetch plan');
  }
  ledger.settle(plan, count);
  return Array.from({ length: count }, () => ledger.holdFor(plan, topic));
}

describe('capacity ledger reports', () => {
  test('reporting frees the lane slot', () => {
    const ledger = ledgerWithTwoSlots();
    const [first] = fetchTasks(ledger, 2);
    expect(ledger.free('inventory')).toBe(0);

    ledger.reporting(first!);

    expect(ledger.free('inventory')).toBe(1);
    expect(ledger.pendingReports).toBe(1);
  });

  test('pending reports at the limit stop fetching', async () => {
    const ledger = ledgerWithTwoSlots();
    const holds = fetchTasks(ledger, 2);
    const ends = holds.map((hold) => ledger.reporting(hold));

    expect(ledger.free('inventory')).toBe(2);
    expect(ledger.plan([topic], 10)).toBeUndefined();

    const changed = ledger.changed();
    ends[0]!();
    await changed;
    expect(ledger.pendingReports).toBe(1);
    expect(ledger.plan([topic], 10)?.maxTasks).toBe(2);
  });

  test('ending a report twice counts once', () => {
    const ledger = ledgerWithTwoSlots();
    const [hold] = fetchTasks(ledger, 1);
    const end = ledger.reporting(hold!);

    end();
    end();

    expect(ledger.pendingReports).toBe(0);
  });
});
