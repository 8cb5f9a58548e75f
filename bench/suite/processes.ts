/**
 * BPMN processes of the suite's scenarios. Every external task carries a
 * `path` property, the route that our daemon and the naive orchestrator read
 * from the definition; the bare client derives the same path from the
 * activity id (see servicePath).
 */
import { servicePath } from './workers.ts';

const HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
  'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' +
  'id="Definitions_Suite" targetNamespace="http://example.com/bench">\n';

/** Tasks in the batch scenario, created at once by one signal. */
export const BATCH_SIZE = 20;
/** Service tasks of the five-task workflow. */
export const WORKFLOW_TASKS = 5;
/** Documented service tasks in the non-executable part of the large BPMN. */
const LARGE_BODY_TASKS = 600;

function externalTask(id: string, topic: string): string {
  return `<bpmn:serviceTask id="${id}" name="Step ${id}" camunda:type="external" camunda:topic="${topic}">` +
    `<bpmn:extensionElements><camunda:properties><camunda:property name="path" value="${servicePath(id)}" /></camunda:properties></bpmn:extensionElements>` +
    '</bpmn:serviceTask>';
}

/** A chain start → tasks → end, with sequence flows. */
function chain(processKey: string, tasks: readonly string[]): string {
  const ids = ['Start', ...tasks.map((_, index) => `Task_${index + 1}`), 'End'];
  const flows = ids.slice(1).map((target, index) => `<bpmn:sequenceFlow id="Flow_${index + 1}" sourceRef="${ids[index]}" targetRef="${target}" />`);
  return `<bpmn:process id="${processKey}" isExecutable="true" camunda:historyTimeToLive="P1D">\n` +
    '<bpmn:startEvent id="Start" />\n' +
    `${tasks.join('\n')}\n<bpmn:endEvent id="End" />\n${flows.join('\n')}\n</bpmn:process>\n`;
}

/** One external task. */
export function singleTaskProcess(processKey: string, topic: string): string {
  return `${HEADER}${chain(processKey, [externalTask('Task_1', topic)])}</bpmn:definitions>\n`;
}

/** Five external tasks in sequence. */
export function workflowProcess(processKey: string, topic: string): string {
  const tasks = Array.from({ length: WORKFLOW_TASKS }, (_, index) => externalTask(`Task_${index + 1}`, topic));
  return `${HEADER}${chain(processKey, tasks)}</bpmn:definitions>\n`;
}

/** Name of the signal that releases the waiting instances of `batchProcess(processKey)`. */
export function batchSignal(processKey: string): string {
  return `${processKey}-go`;
}

/**
 * Waits for a signal, then runs one external task. Instances started ahead
 * wait at the signal; sending it creates all their tasks in one transaction,
 * so the worker finds a whole batch at once. (A parallel multi-instance task
 * would do that too, but the engine rejects sibling completions that arrive
 * together with HTTP 500 and an OptimisticLockingException on the
 * multi-instance counters.)
 */
export function batchProcess(processKey: string, topic: string): string {
  const signal = `<bpmn:signal id="Signal_Go" name="${batchSignal(processKey)}" />\n`;
  const wait = '<bpmn:intermediateCatchEvent id="Wait"><bpmn:signalEventDefinition signalRef="Signal_Go" /></bpmn:intermediateCatchEvent>';
  const process = `<bpmn:process id="${processKey}" isExecutable="true" camunda:historyTimeToLive="P1D">\n` +
    `<bpmn:startEvent id="Start" />\n${wait}\n${externalTask('Task_1', topic)}\n<bpmn:endEvent id="End" />\n` +
    '<bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Wait" />\n' +
    '<bpmn:sequenceFlow id="Flow_2" sourceRef="Wait" targetRef="Task_1" />\n' +
    '<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_1" targetRef="End" />\n</bpmn:process>\n';
  return `${HEADER}${signal}${process}</bpmn:definitions>\n`;
}

/**
 * One executable external task, and beside it a non-executable process of
 * LARGE_BODY_TASKS documented service tasks with properties and diagram
 * shapes (about 700 kB in all). The engine deploys only the executable
 * process, but its XML, which every orchestrator that reads the definition
 * must fetch and parse, is the whole file.
 */
export function largeProcess(processKey: string, topic: string): string {
  const body: string[] = [];
  const shapes: string[] = [];
  let previous = 'Body_Start';
  for (let index = 1; index <= LARGE_BODY_TASKS; index += 1) {
    const id = `Body_${index}`;
    body.push(
      `<bpmn:serviceTask id="${id}" name="Body step ${index}" camunda:type="external" camunda:topic="body-${index % 7}">` +
        `<bpmn:documentation>Calls the service of step ${index} with the order and customer variables.</bpmn:documentation>` +
        '<bpmn:extensionElements><camunda:properties>' +
        `<camunda:property name="service" value="service-${index % 5}" /><camunda:property name="path" value="/body/${index}" />` +
        '<camunda:property name="variables" value="orderId,customerId,total" /></camunda:properties></bpmn:extensionElements></bpmn:serviceTask>',
      `<bpmn:sequenceFlow id="Body_Flow_${index}" sourceRef="${previous}" targetRef="${id}" />`,
    );
    shapes.push(`<bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}"><dc:Bounds x="${(index % 40) * 160}" y="${Math.floor(index / 40) * 120}" width="100" height="80" /></bpmndi:BPMNShape>`);
    previous = id;
  }
  const bodyProcess = `<bpmn:process id="${processKey}_Body" isExecutable="false">\n<bpmn:startEvent id="Body_Start" />\n${body.join('\n')}\n</bpmn:process>\n`;
  const diagram = `<bpmndi:BPMNDiagram id="Diagram_Body"><bpmndi:BPMNPlane id="Plane_Body" bpmnElement="${processKey}_Body">\n${shapes.join('\n')}\n</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n`;
  return `${HEADER}${chain(processKey, [externalTask('Task_1', topic)])}${bodyProcess}${diagram}</bpmn:definitions>\n`;
}
