/**
 * Small BPMN processes written as lists of nodes and flows, for the
 * prediction tests: `task:A` is an external task with topic `t`, anything
 * else is a flow node of that BPMN type.
 */

export interface GraphSpec {
  processId?: string;
  /** `type:id` entries, e.g. `task:A`, `exclusiveGateway:X`, `startEvent:S`; `boundaryEvent:E@A` attaches E to A; `callActivity:C>Child` calls Child. */
  nodes: string[];
  /** `from>to` sequence flows. */
  flows: string[];
  /** Nodes inside a sub-process: `subProcessId: [entries]` with the same syntax. */
  subProcesses?: Record<string, { nodes: string[]; flows: string[] }>;
}

function nodeXml(entry: string): string {
  const [type, rest] = entry.split(':') as [string, string];
  if (type === 'task') {
    return `<serviceTask id="${rest}" camunda:type="external" camunda:topic="t" />`;
  }
  if (type === 'boundaryEvent') {
    const [id, host] = rest.split('@') as [string, string];
    return `<boundaryEvent id="${id}" attachedToRef="${host}"><errorEventDefinition /></boundaryEvent>`;
  }
  if (type === 'callActivity') {
    const [id, called] = rest.split('>') as [string, string];
    return `<callActivity id="${id}" calledElement="${called}" />`;
  }
  return `<${type} id="${rest}" />`;
}

function flowsXml(flows: readonly string[]): string {
  return flows.map((flow) => {
    const [from, to] = flow.split('>') as [string, string];
    return `<sequenceFlow id="Flow_${from}_${to}" sourceRef="${from}" targetRef="${to}" />`;
  }).join('\n    ');
}

/** Writes the spec as BPMN 2.0 XML with Camunda 7 external tasks. */
export function graphXml(spec: GraphSpec): string {
  const subProcesses = Object.entries(spec.subProcesses ?? {}).map(([id, inner]) => `<subProcess id="${id}">
      ${inner.nodes.map(nodeXml).join('\n      ')}
      ${flowsXml(inner.flows)}
    </subProcess>`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_graph" targetNamespace="http://example.com/test">
  <process id="${spec.processId ?? 'Graph'}" isExecutable="true">
    ${spec.nodes.map(nodeXml).join('\n    ')}
    ${subProcesses.join('\n    ')}
    ${flowsXml(spec.flows)}
  </process>
</definitions>
`;
}
