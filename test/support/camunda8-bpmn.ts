/** A service task of a generated Camunda 8 test process. */
export interface JobTaskSpec {
  id: string;
  /** `zeebe:taskDefinition` type. */
  type: string;
  /** `zeebe:taskHeaders` entries. */
  headers?: Record<string, string>;
  /** `zeebe:input` mappings, target to source expression. */
  inputs?: Record<string, string>;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Generates a Camunda 8 process: start, the given job worker tasks in sequence, end. */
export function zeebeProcess(processId: string, tasks: readonly JobTaskSpec[]): string {
  const elements: string[] = ['<bpmn:startEvent id="Start" />'];
  const flows: string[] = [];
  let previous = 'Start';
  for (const task of tasks) {
    const headers = Object.entries(task.headers ?? {})
      .map(([key, value]) => `<zeebe:header key="${escapeXml(key)}" value="${escapeXml(value)}" />`)
      .join('');
    const inputs = Object.entries(task.inputs ?? {})
      .map(([target, source]) => `<zeebe:input source="${escapeXml(source)}" target="${escapeXml(target)}" />`)
      .join('');
    elements.push([
      `<bpmn:serviceTask id="${task.id}"><bpmn:extensionElements>`,
      `<zeebe:taskDefinition type="${escapeXml(task.type)}" />`,
      headers === '' ? '' : `<zeebe:taskHeaders>${headers}</zeebe:taskHeaders>`,
      inputs === '' ? '' : `<zeebe:ioMapping>${inputs}</zeebe:ioMapping>`,
      '</bpmn:extensionElements></bpmn:serviceTask>',
    ].join(''));
    flows.push(`<bpmn:sequenceFlow id="Flow_${previous}_${task.id}" sourceRef="${previous}" targetRef="${task.id}" />`);
    previous = task.id;
  }
  elements.push('<bpmn:endEvent id="End" />');
  flows.push(`<bpmn:sequenceFlow id="Flow_${previous}_End" sourceRef="${previous}" targetRef="End" />`);

  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Definitions_${processId}" targetNamespace="http://example.com/test">
  <bpmn:process id="${processId}" isExecutable="true">
    ${elements.join('\n    ')}
    ${flows.join('\n    ')}
  </bpmn:process>
</bpmn:definitions>
`;
}

/** Polls `check` every 25 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
