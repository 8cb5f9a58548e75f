import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SaxesParser } from 'saxes';

import { loadConfigFile } from '../../src/config/load.ts';
import { parseDefinition } from '../../src/definitions/bpmn-extractor.ts';
import type { Activity } from '../../src/definitions/model.ts';
import { deployBpmn, startProcessInstance } from '../../src/demo/engine-rest.ts';
import { EXAMPLE_SERVICE_PATHS, exampleOrder } from '../../src/demo/example-service.ts';
import type { TaskHandler } from '../../src/dispatch/handlers.ts';
import { resolveRoute } from '../../src/routing/route.ts';
import type { Route } from '../../src/routing/route.ts';
import auditLog from '../../workers/audit-log.ts';
import { engineUrl, uniqueProcessKey } from '../support/engine.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES = join(ROOT, 'config', 'examples');

const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
const BPMNDI = 'http://www.omg.org/spec/BPMN/20100524/DI';
const CAMUNDA = 'http://camunda.org/schema/1.0/bpmn';

/** A namespace-resolved element; attributes are keyed by `{uri}local`, or by `local` when unqualified. */
interface XmlElement {
  uri: string;
  local: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
}

/** Parses with saxes in namespace mode and throws on any well-formedness error or DOCTYPE. */
function parseXml(xml: string, fileName: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, fileName });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  parser.on('doctype', () => {
    throw new Error(`${fileName} must not contain a DOCTYPE`);
  });
  parser.on('opentag', (tag) => {
    const attributes = new Map<string, string>();
    for (const attribute of Object.values(tag.attributes)) {
      attributes.set(attribute.uri === '' ? attribute.local : `{${attribute.uri}}${attribute.local}`, attribute.value);
    }
    const element: XmlElement = { uri: tag.uri, local: tag.local, attributes, children: [], text: '' };
    stack.at(-1)?.children.push(element);
    root ??= element;
    stack.push(element);
  });
  parser.on('text', (text) => {
    const current = stack.at(-1);
    if (current !== undefined) current.text += text;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(xml).close();

  if (root === undefined) throw new Error(`${fileName} has no root element`);
  return root;
}

function* descendants(element: XmlElement): Generator<XmlElement> {
  for (const child of element.children) {
    yield child;
    yield* descendants(child);
  }
}

function findAll(element: XmlElement, uri: string, local: string): XmlElement[] {
  return [...descendants(element)].filter((candidate) => candidate.uri === uri && candidate.local === local);
}

function childrenNamed(element: XmlElement, uri: string, local: string): XmlElement[] {
  return element.children.filter((child) => child.uri === uri && child.local === local);
}

function camundaAttribute(element: XmlElement, name: string): string | undefined {
  return element.attributes.get(`{${CAMUNDA}}${name}`);
}

/** `camunda:properties` of an activity as a name-to-value record. */
function propertiesOf(element: XmlElement): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const property of findAll(element, CAMUNDA, 'property')) {
    properties[property.attributes.get('name') ?? ''] = property.attributes.get('value') ?? '';
  }
  return properties;
}

interface ParsedDefinition {
  root: XmlElement;
  process: XmlElement;
  byId: Map<string, XmlElement>;
  /** External service tasks by id. */
  externalTasks: Map<string, XmlElement>;
}

function loadDefinition(fileName: string): ParsedDefinition {
  const root = parseXml(readFileSync(join(EXAMPLES, fileName), 'utf8'), fileName);
  const processes = childrenNamed(root, BPMN, 'process');
  const byId = new Map<string, XmlElement>();
  for (const element of [root, ...descendants(root)]) {
    const id = element.attributes.get('id');
    if (id === undefined) continue;
    if (byId.has(id)) throw new Error(`${fileName} repeats the id ${id}`);
    byId.set(id, element);
  }

  const externalTasks = new Map<string, XmlElement>();
  for (const task of findAll(root, BPMN, 'serviceTask')) {
    if (camundaAttribute(task, 'type') === 'external') externalTasks.set(task.attributes.get('id') ?? '', task);
  }

  const process = processes[0];
  if (process === undefined || processes.length > 1) throw new Error(`${fileName} must contain exactly one process, found ${processes.length}`);
  return { root, process, byId, externalTasks };
}

const FLOW_NODE_TYPES = new Set(['startEvent', 'endEvent', 'boundaryEvent', 'serviceTask', 'callActivity', 'exclusiveGateway']);

function flowNodes(definition: ParsedDefinition): XmlElement[] {
  return definition.process.children.filter((child) => child.uri === BPMN && FLOW_NODE_TYPES.has(child.local));
}

const orderProcess = loadDefinition('order-process.bpmn');
const shipOrder = loadDefinition('ship-order.bpmn');
const definitions = [
  ['order-process.bpmn', orderProcess],
  ['ship-order.bpmn', shipOrder],
] as const;

describe.each(definitions)('%s structure', (_fileName, definition) => {
  test('root is BPMN definitions', () => {
    expect(definition.root.uri).toBe(BPMN);
    expect(definition.root.local).toBe('definitions');
  });

  test('process is executable with history time to live', () => {
    expect(definition.process.attributes.get('isExecutable')).toBe('true');
    expect(camundaAttribute(definition.process, 'historyTimeToLive')).toBe('P1D');
    expect(childrenNamed(definition.process, BPMN, 'documentation')[0]?.text.trim()).not.toBe('');
  });

  test('only known flow node types', () => {
    const types = definition.process.children.map((child) => child.local);
    const allowed = new Set([...FLOW_NODE_TYPES, 'sequenceFlow', 'documentation']);

    expect(types.filter((type) => !allowed.has(type))).toEqual([]);
  });

  test('sequence flows connect existing nodes', () => {
    const nodeIds = new Set(flowNodes(definition).map((node) => node.attributes.get('id')));

    for (const flow of childrenNamed(definition.process, BPMN, 'sequenceFlow')) {
      const id = flow.attributes.get('id');
      expect({ id, source: nodeIds.has(flow.attributes.get('sourceRef')) }).toEqual({ id, source: true });
      expect({ id, target: nodeIds.has(flow.attributes.get('targetRef')) }).toEqual({ id, target: true });
    }
  });

  test('incoming and outgoing match flows', () => {
    const flows = childrenNamed(definition.process, BPMN, 'sequenceFlow');

    for (const node of flowNodes(definition)) {
      const id = node.attributes.get('id');
      const incoming = childrenNamed(node, BPMN, 'incoming').map((ref) => ref.text.trim()).sort();
      const outgoing = childrenNamed(node, BPMN, 'outgoing').map((ref) => ref.text.trim()).sort();
      const expectedIncoming = flows.filter((flow) => flow.attributes.get('targetRef') === id).map((flow) => flow.attributes.get('id')).sort();
      const expectedOutgoing = flows.filter((flow) => flow.attributes.get('sourceRef') === id).map((flow) => flow.attributes.get('id')).sort();

      expect({ id, incoming }).toEqual({ id, incoming: expectedIncoming });
      expect({ id, outgoing }).toEqual({ id, outgoing: expectedOutgoing });
    }
  });

  test('diagram covers every node and flow', () => {
    const planes = findAll(definition.root, BPMNDI, 'BPMNPlane');
    expect(planes).toHaveLength(1);
    expect(planes[0]?.attributes.get('bpmnElement')).toBe(definition.process.attributes.get('id'));

    const shapes = new Set(findAll(definition.root, BPMNDI, 'BPMNShape').map((shape) => shape.attributes.get('bpmnElement')));
    const edges = new Set(findAll(definition.root, BPMNDI, 'BPMNEdge').map((edge) => edge.attributes.get('bpmnElement')));
    const nodeIds = flowNodes(definition).map((node) => node.attributes.get('id'));
    const flowIds = childrenNamed(definition.process, BPMN, 'sequenceFlow').map((flow) => flow.attributes.get('id'));

    expect(nodeIds.filter((id) => !shapes.has(id))).toEqual([]);
    expect(flowIds.filter((id) => !edges.has(id))).toEqual([]);
    expect(shapes.size).toBe(nodeIds.length);
    expect(edges.size).toBe(flowIds.length);
  });

  test('external tasks document themselves', () => {
    for (const [id, task] of definition.externalTasks) {
      const documentation = childrenNamed(task, BPMN, 'documentation')[0]?.text.trim() ?? '';
      expect({ id, documented: documentation.length > 0 }).toEqual({ id, documented: true });
    }
  });
});

describe('order-process.bpmn content', () => {
  test('process id is order-process', () => {
    expect(orderProcess.process.attributes.get('id')).toBe('order-process');
  });

  test('external tasks and topics', () => {
    const topics = Object.fromEntries([...orderProcess.externalTasks].map(([id, task]) => [id, camundaAttribute(task, 'topic')]));

    expect(topics).toEqual({
      'validate-order': 'validate-order',
      'prioritize-order': 'prioritize-order',
      'reserve-stock': 'reserve-stock',
      'notify-backorder': 'notify-backorder',
      'charge-payment': 'charge-payment',
      'release-stock': 'release-stock',
      'send-confirmation': 'send-confirmation',
      'audit-log': 'audit-log',
    });
  });

  test('main path order', () => {
    const path: string[] = [];
    let current: string | undefined = 'order-received';
    const flows = childrenNamed(orderProcess.process, BPMN, 'sequenceFlow');
    while (current !== undefined && path.length < 20) {
      path.push(current);
      const node = orderProcess.byId.get(current) as XmlElement;
      const defaultFlow = node.attributes.get('default');
      const next = flows.find((flow) => flow.attributes.get('sourceRef') === current && (defaultFlow === undefined || flow.attributes.get('id') === defaultFlow));
      current = next?.attributes.get('targetRef');
    }

    expect(path).toEqual([
      'order-received',
      'validate-order',
      'shipping-method',
      'shipping-method-joined',
      'reserve-stock',
      'charge-payment',
      'ship-order',
      'send-confirmation',
      'audit-log',
      'order-completed',
    ]);
  });

  test('gateway branches on shipping', () => {
    const gateway = orderProcess.byId.get('shipping-method') as XmlElement;
    const express = orderProcess.byId.get('flow-express') as XmlElement;
    const condition = childrenNamed(express, BPMN, 'conditionExpression')[0];

    expect(gateway.local).toBe('exclusiveGateway');
    expect(gateway.attributes.get('default')).toBe('flow-standard');
    expect(express.attributes.get('targetRef')).toBe('prioritize-order');
    expect(condition?.text).toBe("${execution.getVariable('shipping') == 'express'}");
  });

  test.each([
    ['out-of-stock', 'reserve-stock', 'OUT_OF_STOCK', 'notify-backorder'],
    ['payment-declined', 'charge-payment', 'PAYMENT_DECLINED', 'release-stock'],
  ])('boundary %s catches its error', (boundaryId, attachedTo, errorCode, next) => {
    const boundary = orderProcess.byId.get(boundaryId) as XmlElement;
    const definition = childrenNamed(boundary, BPMN, 'errorEventDefinition')[0] as XmlElement;
    const error = orderProcess.byId.get(definition.attributes.get('errorRef') ?? '') as XmlElement;
    const outgoing = orderProcess.byId.get(childrenNamed(boundary, BPMN, 'outgoing')[0]?.text.trim() ?? '') as XmlElement;

    expect(boundary.attributes.get('attachedToRef')).toBe(attachedTo);
    expect(error.local).toBe('error');
    expect(error.attributes.get('errorCode')).toBe(errorCode);
    expect(outgoing.attributes.get('targetRef')).toBe(next);
  });

  test('charge-payment routes by properties', () => {
    const properties = propertiesOf(orderProcess.externalTasks.get('charge-payment') as XmlElement);

    expect(properties).toEqual({
      service: 'payments',
      path: '/charge',
      method: 'POST',
      variables: 'orderId,orderTotalCents,paymentToken',
      errors: '402=PAYMENT_DECLINED',
    });
  });

  test('send-confirmation maps inputs and output', () => {
    const task = orderProcess.externalTasks.get('send-confirmation') as XmlElement;
    const inputs = findAll(task, CAMUNDA, 'inputParameter').map((parameter) => [parameter.attributes.get('name'), parameter.text]);
    const outputs = findAll(task, CAMUNDA, 'outputParameter').map((parameter) => [parameter.attributes.get('name'), parameter.text]);

    expect(inputs).toEqual([
      ['recipient', '${customerEmail}'],
      ['template', 'order-confirmation'],
    ]);
    expect(outputs).toEqual([['confirmationTemplate', '${template}']]);
    expect(propertiesOf(task).variables).toBe('orderId,trackingNumber,carrier,recipient,template');
  });

  test('call activity passes variables to ship-order', () => {
    const call = orderProcess.byId.get('ship-order') as XmlElement;
    const inputs = findAll(call, CAMUNDA, 'in').map((mapping) => mapping.attributes.get('source') ?? `businessKey=${mapping.attributes.get('businessKey')}`);
    const outputs = findAll(call, CAMUNDA, 'out').map((mapping) => mapping.attributes.get('source'));

    expect(call.local).toBe('callActivity');
    expect(call.attributes.get('calledElement')).toBe('ship-order');
    expect(inputs).toEqual(['businessKey=#{execution.processBusinessKey}', 'orderId', 'items', 'shipping']);
    expect(outputs).toEqual(['parcelId', 'trackingNumber', 'carrier']);
  });
});

describe('ship-order.bpmn content', () => {
  test('process id is ship-order', () => {
    expect(shipOrder.process.attributes.get('id')).toBe('ship-order');
  });

  test('external tasks and topics', () => {
    const topics = [...shipOrder.externalTasks].map(([id, task]) => [id, camundaAttribute(task, 'topic')]);

    expect(topics).toEqual([
      ['pack-items', 'pack-items'],
      ['ship-parcel', 'ship-parcel'],
    ]);
  });

  test('ship-parcel picks carrier by mapping', () => {
    const task = shipOrder.externalTasks.get('ship-parcel') as XmlElement;
    const input = findAll(task, CAMUNDA, 'inputParameter')[0];
    const output = findAll(task, CAMUNDA, 'outputParameter')[0];

    expect(input?.attributes.get('name')).toBe('carrier');
    expect(input?.text).toBe("${execution.getVariable('shipping') == 'express' ? 'express-courier' : 'ground'}");
    expect(output?.attributes.get('name')).toBe('carrier');
    expect(propertiesOf(task).variables).toBe('orderId,parcelId,parcelWeightGrams,carrier');
  });
});

describe('order-flow.yaml routes', () => {
  // Placeholders fall back to their defaults, because the environment is empty.
  const config = loadConfigFile(join(EXAMPLES, 'order-flow.yaml'), {});
  const models = ['order-process.bpmn', 'ship-order.bpmn'].map((fileName) => parseDefinition(readFileSync(join(EXAMPLES, fileName))));
  const activities = models.flatMap((model) => [...model.activities.values()]).filter((activity) => activity.topic !== undefined);
  const caughtCodes = new Set(models.flatMap((model) => [...model.activities.values()]).map((activity) => activity.errorCode));

  function routeOf(activity: Activity): Route {
    const topic = config.topics.find((candidate) => candidate.topic === activity.topic);
    if (topic === undefined) throw new Error(`topic ${activity.topic} of ${activity.id} is not configured`);
    return resolveRoute(config, topic, activity);
  }

  test('engine section', () => {
    expect(config.engine).toMatchObject({
      type: 'camunda7',
      baseUrl: 'http://127.0.0.1:8080/engine-rest',
      workerId: 'demo-worker',
      maxTasks: 20,
      lockDurationMs: 30_000,
      asyncResponseTimeoutMs: 10_000,
    });
  });

  test('every BPMN topic is configured once', () => {
    const bpmnTopics = new Set(activities.map((activity) => activity.topic));
    const configured = config.topics.map((topic) => topic.topic);

    expect(activities).toHaveLength(10);
    expect([...bpmnTopics].filter((topic) => !configured.includes(topic as string))).toEqual([]);
    expect(configured.filter((topic) => !bpmnTopics.has(topic))).toEqual([]);
    expect(new Set(configured).size).toBe(configured.length);
  });

  test('every route reaches the example service', () => {
    for (const activity of activities.filter((candidate) => candidate.topic !== 'audit-log')) {
      const route = routeOf(activity);
      if (route.kind !== 'http') throw new Error(`${activity.id} routes to a handler`);
      const service = config.services.get(route.service);
      const path = `${new URL(service?.baseUrl ?? 'http://invalid').pathname}${route.path}`;

      expect({ id: activity.id, routed: EXAMPLE_SERVICE_PATHS.includes(path) }).toEqual({ id: activity.id, routed: true });
      expect({ id: activity.id, method: route.method }).toEqual({ id: activity.id, method: 'POST' });
    }
  });

  test('charge-payment takes route from properties', () => {
    const route = routeOf(activities.find((activity) => activity.id === 'charge-payment') as Activity);

    if (route.kind !== 'http') throw new Error('charge-payment routes to a handler');
    expect(route.service).toBe('payments');
    expect(route.path).toBe('/charge');
    expect(route.variables).toEqual(['orderId', 'orderTotalCents', 'paymentToken']);
    expect(route.errors.get(402)?.code).toBe('PAYMENT_DECLINED');
  });

  test('mapped errors are caught in BPMN', () => {
    for (const activity of activities) {
      const route = routeOf(activity);
      const codes = route.kind === 'http' ? [...route.errors.values()].map((mapping) => mapping.code) : [];

      for (const code of codes) {
        expect({ id: activity.id, code, caught: caughtCodes.has(code) }).toEqual({ id: activity.id, code, caught: true });
      }
    }
  });

  test('audit-log runs in process', async () => {
    const route = routeOf(activities.find((activity) => activity.topic === 'audit-log') as Activity);
    if (route.kind !== 'handler') throw new Error('audit-log routes to a service');
    const handler: TaskHandler = auditLog;
    const task = {
      id: 'task-1',
      topic: 'audit-log',
      activityId: 'audit-log',
      processInstanceId: 'instance-1',
      processDefinitionId: 'order-process:1:abc',
      processDefinitionKey: 'order-process',
      businessKey: null,
      retries: null,
      workerId: 'test-worker',
      tenantId: null,
      variables: {},
    };

    const result = await handler(task, { signal: new AbortController().signal });

    expect(route.module).toBe(join(ROOT, 'workers', 'audit-log.ts'));
    expect(result).toEqual({ outcome: 'complete', variables: { auditedAt: expect.any(String) } });
    const auditedAt = (result as unknown as { variables: { auditedAt: string } }).variables.auditedAt;
    expect(new Date(auditedAt).toISOString()).toBe(auditedAt);
  });
});

/** Sends one request to the shared engine's REST API and returns the parsed JSON body. */
async function callEngine(method: 'GET' | 'DELETE', path: string): Promise<any> {
  const response = await fetch(`${engineUrl()}${path}`, { method, headers: { accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} failed with HTTP ${response.status}: ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

describe('example processes on the engine', () => {
  const deploymentIds = new Set<string>();

  afterAll(async () => {
    for (const deploymentId of deploymentIds) {
      await callEngine('DELETE', `/deployment/${deploymentId}?cascade=true`);
    }
  });

  test('engine accepts both definitions', async () => {
    const definitions = await deployBpmn(engineUrl(), [join(EXAMPLES, 'order-process.bpmn'), join(EXAMPLES, 'ship-order.bpmn')], {
      deploymentName: 'example-processes-test',
    });
    definitions.forEach((definition) => deploymentIds.add(definition.deploymentId));

    const deployed = definitions.map((definition) => [definition.key, definition.resource]).sort();
    expect(deployed).toEqual([
      ['order-process', 'order-process.bpmn'],
      ['ship-order', 'ship-order.bpmn'],
    ]);
    for (const definition of definitions) {
      const details = await callEngine('GET', `/process-definition/${definition.id}`);
      expect({ key: definition.key, historyTimeToLive: details.historyTimeToLive }).toEqual({ key: definition.key, historyTimeToLive: 1 });
      expect({ key: definition.key, versionTag: details.versionTag }).toEqual({ key: definition.key, versionTag: '1.0' });
    }
  });

  test('order instance creates validate-order task', async () => {
    // Keys of their own keep other tests on the shared engine from counting this instance.
    const orderKey = uniqueProcessKey('order-process');
    const shipKey = uniqueProcessKey('ship-order');
    const orderXml = readFileSync(join(EXAMPLES, 'order-process.bpmn'), 'utf8')
      .replace('id="order-process"', `id="${orderKey}"`)
      .replace('bpmnElement="order-process"', `bpmnElement="${orderKey}"`)
      .replace('calledElement="ship-order"', `calledElement="${shipKey}"`);
    const shipXml = readFileSync(join(EXAMPLES, 'ship-order.bpmn'), 'utf8')
      .replace('id="ship-order"', `id="${shipKey}"`)
      .replace('bpmnElement="ship-order"', `bpmnElement="${shipKey}"`);
    const definitions = await deployBpmn(engineUrl(), [
      { name: `${orderKey}.bpmn`, xml: orderXml },
      { name: `${shipKey}.bpmn`, xml: shipXml },
    ]);
    definitions.forEach((definition) => deploymentIds.add(definition.deploymentId));
    expect(definitions.map((definition) => definition.key).sort()).toEqual([orderKey, shipKey].sort());

    const order = exampleOrder(0);
    const instance = await startProcessInstance(engineUrl(), orderKey, { businessKey: order.businessKey, variables: order.variables });

    // The creation log stays even when a worker on the shared engine has already completed the task.
    const created = await callEngine('GET', `/history/external-task-log?processInstanceId=${instance.id}&creationLog=true`);
    expect(created.map((entry: { topicName: string; activityId: string }) => [entry.topicName, entry.activityId])).toEqual([
      ['validate-order', 'validate-order'],
    ]);
    expect(instance.businessKey).toBe('order-0001');
  });
});
