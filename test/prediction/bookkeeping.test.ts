/**
 * The prefetch ledger and the instance tracker: each prefetch counted once,
 * and both bounded.
 */
import { InstanceTracker } from '../../src/prediction/instance-tracker.ts';
import { PrefetchLedger } from '../../src/prediction/prefetch-ledger.ts';

function ledgerWith(maxPending: number) {
  let now = 0;
  const settled: boolean[] = [];
  const ledger = new PrefetchLedger({ windowMs: 100, maxPending, clock: { now: () => now }, onSettled: (used) => settled.push(used) });
  return { ledger, settled, advance: (milliseconds: number) => { now += milliseconds; } };
}

describe('PrefetchLedger', () => {
  test('item used once within its window', () => {
    const { ledger, settled } = ledgerWith(10);

    expect(ledger.add('a')).toBe(true);
    expect(ledger.add('a')).toBe(false);
    expect(ledger.use('a')).toBe(true);
    expect(ledger.use('a')).toBe(false);
    expect(settled).toEqual([true]);
  });

  test('item past its window counts unused', () => {
    const { ledger, settled, advance } = ledgerWith(10);
    ledger.add('early');
    advance(60);
    ledger.add('late');
    advance(50);

    expect(ledger.sweep()).toBe(1);
    expect(ledger.use('early')).toBe(false);
    expect(ledger.use('late')).toBe(true);
    expect(settled).toEqual([false, true]);
  });

  test('oldest item settles unused beyond the bound', () => {
    const { ledger, settled } = ledgerWith(2);
    ledger.add('a');
    ledger.add('b');
    ledger.add('c');

    expect(ledger.size).toBe(2);
    expect(settled).toEqual([false]);
    expect(ledger.use('a')).toBe(false);
  });
});

describe('InstanceTracker', () => {
  test('least recently seen instance forgotten', () => {
    const tracker = new InstanceTracker(2);
    tracker.record('i1', 't1', { definitionId: 'd', activityId: 'A', predicted: ['B'] });
    tracker.record('i2', 't2', { definitionId: 'd', activityId: 'A', predicted: ['B'] });
    tracker.record('i1', 't3', { definitionId: 'd', activityId: 'B', predicted: [] });
    tracker.record('i3', 't4', { definitionId: 'd', activityId: 'A', predicted: ['B'] });

    expect(tracker.size).toBe(2);
    expect(tracker.last('i2')).toBeUndefined();
    expect(tracker.last('i1')?.activityId).toBe('B');
  });

  test('task delivered again is recognised', () => {
    const tracker = new InstanceTracker(10);
    tracker.record('i1', 't1', { definitionId: 'd', activityId: 'A', predicted: [] });
    tracker.record('i1', 't2', { definitionId: 'd', activityId: 'B', predicted: [] });

    expect(tracker.isRepeated('i1', 't1')).toBe(true);
    expect(tracker.isRepeated('i1', 't9')).toBe(false);
    expect(tracker.isRepeated('i2', 't1')).toBe(false);
  });
});
