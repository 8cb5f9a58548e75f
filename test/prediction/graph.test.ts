/**
 * The graph prior: which activities the BPMN graph allows after another,
 * through gateways, events, sub-processes and parallel branches.
 */
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity } from '../../src/definitions/model.ts';
import { ProcessGraph, START } from '../../src/prediction/graph.ts';
import { graphXml, type GraphSpec } from '../support/bpmn-graph.ts';

const isTask = (activity: Activity) => activity.topic !== undefined;

function graphOf(spec: GraphSpec, maxConcurrencyBytes = 1_000_000): ProcessGraph {
  return ProcessGraph.fromModel(parseDefinition(graphXml(spec)), { processId: spec.processId ?? 'Graph', isObserved: isTask, maxConcurrencyBytes });
}

/** Returns the activity ids allowed after `from` (undefined: the start), sorted. */
function allowedAfter(graph: ProcessGraph, from: string | undefined): string[] {
  const index = from === undefined ? START : graph.indexOf(from);
  if (index === undefined) {
    throw new Error(`no activity ${from}`);
  }
  return graph.prior(index).successors.map((successor) => graph.ids[successor.index] as string).sort();
}

function weightsAfter(graph: ProcessGraph, from: string): Record<string, number> {
  return Object.fromEntries(graph.prior(graph.indexOf(from) as number).successors.map((successor) => [graph.ids[successor.index], successor.weight]));
}

const EXCLUSIVE: GraphSpec = {
  nodes: ['startEvent:S', 'task:A', 'exclusiveGateway:X', 'task:B', 'task:C', 'task:D', 'endEvent:E1', 'endEvent:E2'],
  flows: ['S>A', 'A>X', 'X>B', 'X>C', 'B>D', 'D>E1', 'C>E2'],
};

describe('ProcessGraph', () => {
  test('exclusive branches exclude each other', () => {
    const graph = graphOf(EXCLUSIVE);

    expect(allowedAfter(graph, undefined)).toEqual(['A']);
    expect(allowedAfter(graph, 'A')).toEqual(['B', 'C']);
    expect(allowedAfter(graph, 'B')).toEqual(['D']);
    expect(allowedAfter(graph, 'C')).toEqual([]);
    expect(allowedAfter(graph, 'D')).toEqual([]);
  });

  test('prior splits evenly at a choice', () => {
    const weights = weightsAfter(graphOf(EXCLUSIVE), 'A');

    expect(weights.B).toBeCloseTo(0.5);
    expect(weights.C).toBeCloseTo(0.5);
  });

  test('parallel branches allow each other until the join', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'parallelGateway:F', 'task:B', 'task:C', 'parallelGateway:J', 'task:D', 'endEvent:E'],
      flows: ['S>A', 'A>F', 'F>B', 'F>C', 'B>J', 'C>J', 'J>D', 'D>E'],
    });

    expect(allowedAfter(graph, 'A')).toEqual(['B', 'C']);
    expect(allowedAfter(graph, 'B')).toEqual(['C', 'D']);
    expect(allowedAfter(graph, 'C')).toEqual(['B', 'D']);
    expect(allowedAfter(graph, 'D')).toEqual([]);
    expect(weightsAfter(graph, 'B').D).toBeGreaterThan(weightsAfter(graph, 'B').C as number);
  });

  test('merge without a join runs the task twice', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'parallelGateway:F', 'task:A', 'task:B', 'task:M', 'endEvent:E'],
      flows: ['S>F', 'F>A', 'F>B', 'A>M', 'B>M', 'M>E'],
    });

    expect(allowedAfter(graph, 'M')).toEqual(['A', 'B', 'M']);
  });

  test('boundary event leads to its handler', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'task:B', 'endEvent:E', 'boundaryEvent:Err@A', 'task:H', 'endEvent:E2'],
      flows: ['S>A', 'A>B', 'B>E', 'Err>H', 'H>E2'],
    });

    expect(allowedAfter(graph, 'A')).toEqual(['B', 'H']);
    expect(weightsAfter(graph, 'A').B).toBeCloseTo(0.9);
    // A non-interrupting boundary event lets the handler run beside what follows the activity.
    expect(allowedAfter(graph, 'B')).toEqual(['H']);
    expect(allowedAfter(graph, 'H')).toEqual(['B']);
  });

  test('sub-process entered and left', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'task:D', 'endEvent:E'],
      flows: ['S>A', 'A>Sub', 'Sub>D', 'D>E'],
      subProcesses: { Sub: { nodes: ['startEvent:SS', 'task:B', 'task:C', 'endEvent:SE'], flows: ['SS>B', 'B>C', 'C>SE'] } },
    });

    expect(allowedAfter(graph, 'A')).toEqual(['B']);
    expect(allowedAfter(graph, 'B')).toEqual(['C']);
    expect(allowedAfter(graph, 'C')).toEqual(['D']);
  });

  test('call activity passed and reported', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'callActivity:Call>Child', 'task:B', 'endEvent:E'],
      flows: ['S>A', 'A>Call', 'Call>B', 'B>E'],
    });
    const prior = graph.prior(graph.indexOf('A') as number);

    expect(allowedAfter(graph, 'A')).toEqual(['B']);
    expect(prior.calls).toEqual([{ calledElement: 'Child', chance: 1 }]);
  });

  test('nodes without start event start together', () => {
    const graph = graphOf({ nodes: ['task:A', 'task:B'], flows: [] });

    expect(allowedAfter(graph, undefined)).toEqual(['A', 'B']);
    expect(allowedAfter(graph, 'A')).toEqual(['B']);
    expect(allowedAfter(graph, 'B')).toEqual(['A']);
  });

  test('loop allows the earlier task again', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'exclusiveGateway:M', 'task:A', 'exclusiveGateway:X', 'endEvent:E'],
      flows: ['S>M', 'M>A', 'A>X', 'X>M', 'X>E'],
    });

    expect(allowedAfter(graph, 'A')).toEqual(['A']);
  });

  test('prior weights sum to one', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'inclusiveGateway:I', 'task:B', 'task:C', 'task:D', 'boundaryEvent:Err@A', 'task:H', 'endEvent:E'],
      flows: ['S>A', 'A>I', 'I>B', 'I>C', 'I>D', 'B>E', 'C>E', 'D>E', 'Err>H', 'H>E'],
    });

    for (const id of ['A', 'B', 'H']) {
      const total = graph.prior(graph.indexOf(id) as number).successors.reduce((sum, successor) => sum + successor.weight, 0);
      expect(total).toBeCloseTo(1);
    }
  });

  test('coarse mode stays within reachable tasks', () => {
    const spec: GraphSpec = {
      nodes: ['startEvent:S', 'parallelGateway:F', 'task:A', 'task:B', 'parallelGateway:J', 'endEvent:E', 'task:Unreached'],
      flows: ['S>F', 'F>A', 'F>B', 'A>J', 'B>J', 'J>E', 'Unreached>E'],
    };
    const graph = graphOf(spec, 1);

    expect(graph.coarseConcurrency).toBe(true);
    expect(allowedAfter(graph, 'A')).toEqual(['A', 'B']);
  });

  test('visit chances follow choices and forks', () => {
    const graph = graphOf({
      nodes: ['startEvent:S', 'task:A', 'exclusiveGateway:X', 'task:B', 'task:C', 'parallelGateway:F', 'task:D', 'task:E', 'endEvent:End'],
      flows: ['S>A', 'A>X', 'X>B', 'X>C', 'B>F', 'F>D', 'F>E', 'D>End', 'E>End', 'C>End'],
    });
    const chances = graph.visitChances();
    const chance = (id: string) => chances[graph.indexOf(id) as number];

    expect(chance('A')).toBeCloseTo(1);
    expect(chance('B')).toBeCloseTo(0.5);
    expect(chance('D')).toBeCloseTo(0.5);
    expect(chance('E')).toBeCloseTo(0.5);
  });

  test('only the named process of a file', () => {
    const xml = graphXml({ processId: 'First', nodes: ['startEvent:S', 'task:A', 'endEvent:E'], flows: ['S>A', 'A>E'] })
      .replace('</definitions>', '<process id="Second"><serviceTask id="Other" camunda:type="external" camunda:topic="t" /></process></definitions>');
    const graph = ProcessGraph.fromModel(parseDefinition(xml), { processId: 'First', isObserved: isTask, maxConcurrencyBytes: 1_000_000 });

    expect(graph.indexOf('Other')).toBeUndefined();
    expect(graph.observedCount).toBe(1);
  });
});
