/** A service task of a generated test process. */
export interface TaskSpec {
  id: string;
  topic: string;
  /** `camunda:properties` of the task. */
  properties?: Record<string, string>;
  /** `camunda:inputParameter`s of the task: local variables of its execution, by name, with a value or an expression. */
  inputs?: Record<string, string>;
  /** Adds an error boundary event catching this code, leading to an end event `<id>_Caught`. */
  catchErrorCode?: string;
  /**
   * `camunda:taskPriority` of the task: a number, or an expression such as
   * `${priority}` that the engine evaluates per instance.
   */
  priority?: number | string;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Generates an executable Camunda 7 process: start, the given external
 * service tasks in sequence, end. Each test uses its own process key and
 * topics, so tests sharing one engine never take each other's tasks.
 */
export function linearProcess(processId: string, tasks: readonly TaskSpec[]): string {
  const elements: string[] = ['<bpmn:startEvent id="Start" />'];
  const flows: string[] = [];
  let previous = 'Start';

  for (const task of tasks) {
    const properties = Object.entries(task.properties ?? {})
      .map(([name, value]) => `<camunda:property name="${escapeXml(name)}" value="${escapeXml(value)}" />`)
      .join('');
    const inputs = Object.entries(task.inputs ?? {})
      .map(([name, value]) => `<camunda:inputParameter name="${escapeXml(name)}">${escapeXml(value)}</camunda:inputParameter>`)
      .join('');
    const extensions = [
      properties === '' ? '' : `<camunda:properties>${properties}</camunda:properties>`,
      inputs === '' ? '' : `<camunda:inputOutput>${inputs}</camunda:inputOutput>`,
    ].join('');
    const extension = extensions === '' ? '' : `<bpmn:extensionElements>${extensions}</bpmn:extensionElements>`;
    const priority = task.priority === undefined ? '' : ` camunda:taskPriority="${escapeXml(String(task.priority))}"`;
    elements.push(`<bpmn:serviceTask id="${task.id}" camunda:type="external" camunda:topic="${escapeXml(task.topic)}"${priority}>${extension}</bpmn:serviceTask>`);
    flows.push(`<bpmn:sequenceFlow id="Flow_${previous}_${task.id}" sourceRef="${previous}" targetRef="${task.id}" />`);

    if (task.catchErrorCode !== undefined) {
      elements.push(
        `<bpmn:boundaryEvent id="${task.id}_Boundary" attachedToRef="${task.id}"><bpmn:errorEventDefinition errorRef="Error_${task.id}" /></bpmn:boundaryEvent>`,
        `<bpmn:endEvent id="${task.id}_Caught" />`,
      );
      flows.push(`<bpmn:sequenceFlow id="Flow_${task.id}_Caught" sourceRef="${task.id}_Boundary" targetRef="${task.id}_Caught" />`);
    }
    previous = task.id;
  }

  elements.push('<bpmn:endEvent id="End" />');
  flows.push(`<bpmn:sequenceFlow id="Flow_${previous}_End" sourceRef="${previous}" targetRef="End" />`);

  const errors = tasks
    .filter((task) => task.catchErrorCode !== undefined)
    .map((task) => `<bpmn:error id="Error_${task.id}" name="${escapeXml(task.catchErrorCode ?? '')}" errorCode="${escapeXml(task.catchErrorCode ?? '')}" />`)
    .join('\n  ');

  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${processId}" targetNamespace="http://example.com/test">
  <bpmn:process id="${processId}" isExecutable="true" camunda:historyTimeToLive="P1D">
    ${elements.join('\n    ')}
    ${flows.join('\n    ')}
  </bpmn:process>
  ${errors}
</bpmn:definitions>
`;
}

/**
 * Generates an executable Camunda 7 process: start, task A, an exclusive
 * gateway on the variable `route` (`'b'` or `'c'`) to task B or task C,
 * end. C leads through task D first, whose topic is `<key>-unserved`. The
 * topics of A, B and C are `<key>-a`, `<key>-b` and `<key>-c`.
 */
export function branchingProcess(key: string): string {
  const task = (id: string, topic: string) => `<bpmn:serviceTask id="${id}" camunda:type="external" camunda:topic="${topic}" />`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_${key}" targetNamespace="http://example.com/test">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    ${task('A', `${key}-a`)}
    <bpmn:exclusiveGateway id="Choice" />
    ${task('B', `${key}-b`)}
    ${task('C', `${key}-c`)}
    ${task('D', `${key}-unserved`)}
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="A" />
    <bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="Choice" />
    <bpmn:sequenceFlow id="F3" sourceRef="Choice" targetRef="B"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${route == 'b'}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F4" sourceRef="Choice" targetRef="C"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\${route == 'c'}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F5" sourceRef="B" targetRef="End" />
    <bpmn:sequenceFlow id="F6" sourceRef="C" targetRef="D" />
    <bpmn:sequenceFlow id="F7" sourceRef="D" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;
}

/** Generates an executable Camunda 7 process: start, task A with `topicOfA` (default `<key>-a`), a call activity of `childKey`, end. */
export function callingProcess(key: string, childKey: string, topicOfA = `${key}-a`): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${key}" targetNamespace="http://example.com/test">
  <bpmn:process id="${key}" isExecutable="true" camunda:historyTimeToLive="P1D">
    <bpmn:startEvent id="Start" />
    <bpmn:serviceTask id="A" camunda:type="external" camunda:topic="${topicOfA}" />
    <bpmn:callActivity id="Call" calledElement="${childKey}" />
    <bpmn:endEvent id="End" />
    <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="A" />
    <bpmn:sequenceFlow id="F2" sourceRef="A" targetRef="Call" />
    <bpmn:sequenceFlow id="F3" sourceRef="Call" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>
`;
}
