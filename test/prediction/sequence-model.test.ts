/**
 * The sequence model: counts over the graph prior, never an activity the
 * graph does not allow, and memory within its bounds.
 */
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity, DefinitionModel } from '../../src/definitions/model.ts';
import { ProcessGraph } from '../../src/prediction/graph.ts';
import { SequenceModel, type SequenceModelOptions } from '../../src/prediction/sequence-model.ts';
import { graphXml, type GraphSpec } from '../support/bpmn-graph.ts';

const isTask = (activity: Activity) => activity.topic !== undefined;

const BRANCHES: GraphSpec = {
  nodes: ['startEvent:S', 'task:A', 'exclusiveGateway:X', 'task:B', 'task:C', 'task:D', 'exclusiveGateway:Y', 'task:F', 'task:G', 'endEvent:E'],
  flows: ['S>A', 'A>X', 'X>B', 'X>C', 'B>D', 'C>Y', 'Y>F', 'Y>G', 'D>E', 'F>E', 'G>E'],
};

const ROOMY: SequenceModelOptions = { maxDefinitions: 100, maxBytesPerDefinition: 1_000_000, maxBytes: 10_000_000 };

function graphOf(model: DefinitionModel, processId = 'Graph'): ProcessGraph {
  return ProcessGraph.fromModel(model, { processId, isObserved: isTask, maxConcurrencyBytes: 100_000 });
}

/**
 * Activities reachable from `from` by sequence flows through nodes without
 * a topic, computed here on the model alone, as an independent check of
 * what the graph allows in a process without parallel branches.
 */
function reachableTasks(model: DefinitionModel, from: string): Set<string> {
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack = [...(model.activities.get(from)?.outgoing ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) {
      continue;
    }
    seen.add(id);
    const activity = model.activities.get(id) as Activity;
    if (isTask(activity)) {
      found.add(id);
    } else {
      stack.push(...activity.outgoing);
    }
  }
  return found;
}

/**
 * Returns a model whose definitions have room for `graph` with `rows` rows
 * of counts and `pairs` counted pairs, but not one pair more (the model's
 * estimates are 260 bytes a row and 80 a pair).
 */
function modelWithRoomFor(graph: ProcessGraph, rows: number, pairs: number): { model: SequenceModel; limit: number } {
  const probe = new SequenceModel(ROOMY);
  probe.add('probe', graph);
  const limit = probe.stats().bytes + rows * 260 + pairs * 80 + 40;
  return { model: new SequenceModel({ maxDefinitions: 10, maxBytesPerDefinition: limit, maxBytes: 10_000_000 }), limit };
}

/** Returns a linear process of `tasks` tasks whose ids carry `prefix`, so every definition differs. */
function linearSpec(prefix: string, tasks: number): GraphSpec {
  const ids = Array.from({ length: tasks }, (_unused, position) => `${prefix}T${position}`);
  return {
    processId: `${prefix}Process`,
    nodes: ['startEvent:S', ...ids.map((id) => `task:${id}`), 'endEvent:E'],
    flows: ['S', ...ids, 'E'].slice(1).map((id, position) => `${['S', ...ids][position]}>${id}`),
  };
}

describe('SequenceModel', () => {
  const branches = parseDefinition(graphXml(BRANCHES));

  test('prior predicts before any observation', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');

    const predictions = model.predict('d1', 'A', 3);

    expect(predictions.map((prediction) => prediction.activityId).sort()).toEqual(['B', 'C']);
    expect(predictions[0]?.probability).toBeCloseTo(0.5);
    expect(model.predict('d1', undefined, 3).map((prediction) => prediction.activityId)).toEqual(['A']);
  });

  test('counts outweigh the prior', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');

    for (let run = 0; run < 9; run += 1) {
      model.observe('d1', 'A', 'C');
    }
    model.observe('d1', 'A', 'B');
    const [first, second] = model.predict('d1', 'A', 2);

    expect(first?.activityId).toBe('C');
    expect(first?.probability).toBeCloseTo((9 + 0.5) / 11);
    expect(second?.activityId).toBe('B');
  });

  test('a repeated prediction is reused until the counts from its activity change', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');

    const before = model.predict('d1', 'A', 2);
    expect(model.predict('d1', 'A', 2)).toBe(before);
    model.observe('d1', 'B', 'D');
    expect(model.predict('d1', 'A', 2)).toBe(before);

    model.observe('d1', 'A', 'C');
    const after = model.predict('d1', 'A', 2);
    expect(after).not.toBe(before);
    expect(after[0]?.activityId).toBe('C');
    expect(model.predict('d1', 'A', 1)).toHaveLength(1);
  });

  test('replaced counts renew a cached prediction', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');
    model.observe('d1', 'A', 'B');
    expect(model.predict('d1', 'A', 2)[0]).toEqual({ activityId: 'B', probability: 0.75 });

    model.replaceCounts('d1', [['A', 'C', 3]]);
    expect(model.predict('d1', 'A', 2)[0]).toEqual({ activityId: 'C', probability: 0.875 });

    model.replaceCounts('d1', []);
    expect(model.predict('d1', 'A', 2).map((prediction) => prediction.probability)).toEqual([0.5, 0.5]);
  });

  test('dropped pair renews a cached prediction', () => {
    const graph = graphOf(branches);
    const { model } = modelWithRoomFor(graph, 2, 2);
    model.add('d1', graph);
    model.observe('d1', 'A', 'C');
    model.observe('d1', 'A', 'C');
    model.observe('d1', 'A', 'B');
    expect(model.predict('d1', 'A', 2)[0]).toEqual({ activityId: 'C', probability: 0.625 });

    // A third pair does not fit: A to B, the least counted, goes.
    model.observe('d1', 'C', 'F');

    expect(model.counts('d1').sort()).toEqual([['A', 'C', 2], ['C', 'F', 1]]);
    expect(model.predict('d1', 'A', 2)[0]).toEqual({ activityId: 'C', probability: 2.5 / 3 });
  });

  test('least recently used order survives delete and re-add', () => {
    const model = new SequenceModel({ maxDefinitions: 3, maxBytesPerDefinition: 1_000_000, maxBytes: 10_000_000 });
    const graph = graphOf(branches);
    for (const id of ['d1', 'd2', 'd3']) {
      model.add(id, graph);
    }

    model.predict('d3', 'A', 1);
    model.delete('d3');
    model.observe('d1', 'A', 'B');
    model.add('d3', graph);
    model.predict('d1', 'A', 1);
    model.predict('d1', 'A', 1);
    expect(model.definitionIds()).toEqual(['d2', 'd3', 'd1']);

    model.add('d4', graph);
    expect(model.definitionIds()).toEqual(['d3', 'd1', 'd4']);
    model.likelyActivities('d3', 0.5);
    model.clear();
    model.add('d5', graph);
    model.add('d6', graph);
    model.predict('d5', 'A', 1);
    expect(model.definitionIds()).toEqual(['d6', 'd5']);
  });

  test('never predicts an unreachable activity', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');
    const tasks = ['A', 'B', 'C', 'D', 'F', 'G'];
    let state = 7;
    const random = () => {
      state = (state * 48_271) % 2_147_483_647;
      return state / 2_147_483_647;
    };

    // Feed transitions of every kind, impossible ones included, as a buggy or reordered feed would.
    const results = new Map<string, number>();
    for (let step = 0; step < 2_000; step += 1) {
      const from = tasks[Math.floor(random() * tasks.length)] as string;
      const to = tasks[Math.floor(random() * tasks.length)] as string;
      const result = model.observe('d1', from, to);
      results.set(result, (results.get(result) ?? 0) + 1);
    }

    for (const from of tasks) {
      const reachable = reachableTasks(branches, from);
      for (const prediction of model.predict('d1', from, 6)) {
        expect({ from, predicted: prediction.activityId, reachable: reachable.has(prediction.activityId) })
          .toEqual({ from, predicted: prediction.activityId, reachable: true });
      }
    }
    expect(results.get('notAllowed')).toBeGreaterThan(1_000);
    expect(model.stats().transitionsNotAllowed).toBe(results.get('notAllowed'));
  });

  test('unknown activity is not counted', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');

    expect(model.observe('d1', 'A', 'Nope')).toBe('unknownActivity');
    expect(model.observe('d2', 'A', 'B')).toBe('unknownDefinition');
    expect(model.predict('d1', 'Nope', 3)).toEqual([]);
  });

  test('memory stays within its bound with many definitions', () => {
    const options: SequenceModelOptions = { maxDefinitions: 500, maxBytesPerDefinition: 40_000, maxBytes: 400_000 };
    const model = new SequenceModel(options);
    let peak = 0;
    let peakDefinitions = 0;

    for (let definition = 0; definition < 1_500; definition += 1) {
      const spec = linearSpec(`P${definition}x`, 3 + (definition % 20));
      const id = `def-${definition}`;
      model.add(id, graphOf(parseDefinition(graphXml(spec)), spec.processId), spec.processId);
      const ids = spec.nodes.filter((node) => node.startsWith('task:')).map((node) => node.slice(5));
      for (let run = 0; run < 5; run += 1) {
        ids.forEach((activityId, position) => model.observe(id, position === 0 ? undefined : ids[position - 1], activityId));
        model.predict(id, ids[0], 3);
      }
      peak = Math.max(peak, model.stats().bytes);
      peakDefinitions = Math.max(peakDefinitions, model.stats().definitions);
    }

    const stats = model.stats();
    expect(peak).toBeLessThanOrEqual(options.maxBytes);
    expect(peakDefinitions).toBeLessThanOrEqual(options.maxDefinitions);
    expect(stats.evictedDefinitions).toBeGreaterThan(0);
    expect(stats.definitions).toBeGreaterThan(10);
    expect(model.predict(`def-1499`, 'P1499xT0', 1)[0]?.activityId).toBe('P1499xT1');
  });

  test('definition count bound holds', () => {
    const model = new SequenceModel({ maxDefinitions: 3, maxBytesPerDefinition: 1_000_000, maxBytes: 10_000_000 });
    const graph = graphOf(branches);

    for (const id of ['d1', 'd2', 'd3', 'd4', 'd5']) {
      model.add(id, graph);
    }
    model.predict('d3', 'A', 1);
    model.add('d6', graph);

    expect(model.definitionIds()).toEqual(['d5', 'd3', 'd6']);
  });

  test('full definition drops its least counted pair', () => {
    const graph = graphOf(branches);
    const { model, limit } = modelWithRoomFor(graph, 2, 3);
    model.add('d1', graph);

    model.observe('d1', 'C', 'F');
    model.observe('d1', 'C', 'F');
    model.observe('d1', 'A', 'C');
    model.observe('d1', 'A', 'C');
    model.observe('d1', 'A', 'B');
    model.observe('d1', 'C', 'G');

    expect(model.stats().bytes).toBeLessThanOrEqual(limit);
    expect(model.counts('d1').sort()).toEqual([['A', 'C', 2], ['C', 'F', 2], ['C', 'G', 1]]);
  });

  test('graph above the definition bound is rejected', () => {
    const model = new SequenceModel({ maxDefinitions: 10, maxBytesPerDefinition: 1_000, maxBytes: 10_000 });

    expect(model.add('d1', graphOf(branches))).toBe(false);
    expect(model.has('d1')).toBe(false);
    expect(model.stats().rejectedDefinitions).toBe(1);
  });

  test('new version inherits counts by activity id', () => {
    const model = new SequenceModel(ROOMY);
    model.add('v1', graphOf(branches), 'Graph');
    for (let run = 0; run < 5; run += 1) {
      model.observe('v1', 'A', 'C');
      model.observe('v1', undefined, 'A');
    }

    model.add('v2', graphOf(branches), 'Graph');

    expect(model.predict('v2', 'A', 1)[0]?.activityId).toBe('C');
    expect(model.counts('v2')).toEqual(expect.arrayContaining([['A', 'C', 5], [undefined, 'A', 5]]));
  });

  test('likely activities use counts over the graph', () => {
    const model = new SequenceModel(ROOMY);
    model.add('d1', graphOf(branches), 'Graph');

    expect(model.likelyActivities('d1', 0.3).map((likely) => likely.activityId).sort()).toEqual(['A', 'B', 'C', 'D']);

    for (let run = 0; run < 20; run += 1) {
      model.observe('d1', undefined, 'A');
      model.observe('d1', 'A', 'C');
      model.observe('d1', 'C', 'F');
    }
    const likely = model.likelyActivities('d1', 0.2).map((entry) => entry.activityId);

    expect(likely.sort()).toEqual(['A', 'C', 'F']);
  });

  test('bounds are checked', () => {
    expect(() => new SequenceModel({ maxDefinitions: 0, maxBytesPerDefinition: 10, maxBytes: 10 })).toThrow(/maxDefinitions must be a positive integer, received 0/);
    expect(() => new SequenceModel({ maxDefinitions: 1, maxBytesPerDefinition: 20, maxBytes: 10 })).toThrow(/maxBytesPerDefinition \(20\) must not exceed maxBytes \(10\)/);
  });
});
