/**
 * The memory part of the definitions benchmark, run as a fresh process by
 * bench/definitions.ts: caches RSS_DEFINITIONS distinct generated
 * definitions and their activities' properties, runs a full garbage
 * collection, and prints memory figures as JSON. It imports only the
 * daemon's own modules, so no benchmark competitor adds to the RSS.
 *
 * Run alone: node --expose-gc bench/definitions-rss.ts
 */
import { fileURLToPath } from 'node:url';

import { parseConfig } from '../src/config/load.ts';
import { ActivityCaches } from '../src/definitions/activity-cache.ts';
import { DefinitionRepository, type DefinitionSource } from '../src/definitions/repository.ts';

/** Definitions held in the RSS measurement; BENCH_RSS_DEFINITIONS lowers it for the suite's short run. */
export const RSS_DEFINITIONS = Number(process.env.BENCH_RSS_DEFINITIONS ?? 10_000);
/** Service tasks per generated definition in the RSS measurement. */
export const RSS_TASKS_PER_DEFINITION = 8;

/** Generates a distinct Camunda 7 definition: a chain of documented external tasks with properties and diagram shapes. */
export function generatedDefinition(index: number, tasks: number): string {
  const nodes: string[] = ['<bpmn:startEvent id="Start" />'];
  const shapes: string[] = [];
  let previous = 'Start';
  for (let task = 1; task <= tasks; task += 1) {
    const id = `Task_${index}_${task}`;
    nodes.push(
      `<bpmn:sequenceFlow id="Flow_${task}" sourceRef="${previous}" targetRef="${id}" />`,
      `<bpmn:serviceTask id="${id}" name="Step ${task} of order flow ${index}" camunda:type="external" camunda:topic="topic-${task}">` +
        `<bpmn:documentation>Calls service ${task % 5} for step ${task} of definition ${index}.</bpmn:documentation>` +
        '<bpmn:extensionElements><camunda:properties>' +
        `<camunda:property name="service" value="service-${task % 5}" /><camunda:property name="path" value="/steps/${task}" />` +
        '<camunda:property name="variables" value="orderId,customerId,total" /></camunda:properties></bpmn:extensionElements></bpmn:serviceTask>',
    );
    shapes.push(`<bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}"><dc:Bounds x="${task * 160}" y="80" width="100" height="80" /></bpmndi:BPMNShape>`);
    previous = id;
  }
  nodes.push(`<bpmn:sequenceFlow id="Flow_end" sourceRef="${previous}" targetRef="End" />`, '<bpmn:endEvent id="End" />');
  return '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' +
    `id="Definitions_${index}" targetNamespace="http://example.com/bench">\n` +
    `<bpmn:process id="order_${index}" isExecutable="true">\n${nodes.join('\n')}\n</bpmn:process>\n` +
    `<bpmndi:BPMNDiagram id="Diagram_${index}"><bpmndi:BPMNPlane id="Plane_${index}" bpmnElement="order_${index}">\n${shapes.join('\n')}\n` +
    '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n';
}

/** Child mode: caches RSS_DEFINITIONS definitions and their properties, then prints memory figures as JSON. */
export async function rssChild(): Promise<void> {
  const config = parseConfig(`
engine: { baseUrl: http://127.0.0.1:9/engine-rest }
topics: [{ topic: unused }]
cache:
  definitions: { maxEntries: ${RSS_DEFINITIONS} }
  properties: { maxEntries: ${RSS_DEFINITIONS * RSS_TASKS_PER_DEFINITION} }
`, { env: {} });
  let xmlBytes = 0;
  const source: DefinitionSource = {
    definitionXml: (definitionId) => {
      const xml = generatedDefinition(Number(definitionId.split(':')[1]), RSS_TASKS_PER_DEFINITION);
      xmlBytes += Buffer.byteLength(xml);
      return Promise.resolve(xml);
    },
  };
  const gc = globalThis.gc as (() => void) | undefined;
  gc?.();
  const baseline = process.memoryUsage();
  const repository = new DefinitionRepository(source, config.cache.definitions);
  const activities = new ActivityCaches(repository, { properties: config.cache.properties, docs: config.cache.docs });

  for (let index = 0; index < RSS_DEFINITIONS; index += 1) {
    const definitionId = `order:${index}:bench`;
    await repository.get(definitionId);
    for (let task = 1; task <= RSS_TASKS_PER_DEFINITION; task += 1) {
      await activities.activityProperties(definitionId, `Task_${index}_${task}`);
    }
  }
  gc?.();
  gc?.();
  const after = process.memoryUsage();
  const stats = repository.stats();
  process.stdout.write(JSON.stringify({
    definitionsCached: stats.size,
    evictions: stats.evictions,
    propertiesCached: activities.properties.size,
    averageXmlBytes: Math.round(xmlBytes / RSS_DEFINITIONS),
    estimatedCacheBytes: stats.bytes,
    baselineRssMb: round(baseline.rss / 2 ** 20, 1),
    baselineHeapUsedMb: round(baseline.heapUsed / 2 ** 20, 1),
    rssMb: round(after.rss / 2 ** 20, 1),
    heapUsedMb: round(after.heapUsed / 2 ** 20, 1),
    heapTotalMb: round(after.heapTotal / 2 ** 20, 1),
    gcExposed: gc !== undefined,
  }));
}


function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await rssChild();
}
