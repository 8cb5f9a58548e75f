/**
 * Benchmark of XML parsers for BPMN definition extraction.
 *
 * Compares, in one run and on the same inputs, our streaming saxes extractor
 * (`parseDefinition`) with xml2js, fast-xml-parser (with and without its
 * validator) and @xmldom/xmldom. Each competitor parses the XML to its object
 * tree or DOM, which is then walked by namespace URI to the activity facts
 * that our extractor returns. The run checks that all parsers agree on them.
 *
 * Inputs: the largest well-formed BPMN files of the shared corpus and one
 * generated BPMN with many external service tasks. Timing: a warm-up per
 * parser and input, then samples taken in turns across parsers, and the
 * median sample. Also measured: heap retained by each parser's result, and
 * how each parser treats a DOCTYPE, internal entities, entity expansion and
 * an external entity.
 *
 * Run: npm run bench:xml   (writes bench/results/xml-parsers.json)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { DOMParser, XMLSerializer, onErrorStopParsing } from '@xmldom/xmldom';
import type { Element as DomElement } from '@xmldom/xmldom';
import { XMLParser } from 'fast-xml-parser';
import xml2js from 'xml2js';

import { parseDefinition } from '../src/definitions/bpmn-extractor.ts';
import type { DefinitionModel } from '../src/definitions/model.ts';
import { largestCorpusInputs, requireCorpus } from './support/corpus.ts';

const BPMN = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
const CAMUNDA = 'http://camunda.org/schema/1.0/bpmn';
const OPERATON = 'http://operaton.org/schema/1.0/bpmn';
const ZEEBE = 'http://camunda.org/schema/zeebe/1.0';

/** Corpus files taken as inputs: the largest well-formed BPMN files. */
const CORPUS_INPUT_COUNT = 5;
/** Service tasks in the generated input. */
const GENERATED_TASKS = 600;
/** Minimum warm-up per parser and input. */
const WARM_UP_MS = 400;
const WARM_UP_MIN_RUNS = 10;
/** Timed samples per parser and input; the median is reported. */
const SAMPLES = 15;
/** A sample repeats the parse until it has run this long, to smooth out timer resolution. */
const SAMPLE_MIN_MS = 60;
/** Repetitions of the retained-heap measurement; the median is reported. */
const HEAP_SAMPLES = 5;

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_FILE = join(BENCH_DIR, 'results', 'xml-parsers.json');

// ---------------------------------------------------------------------------
// Activity facts: the engine-neutral content that every parser must deliver.

interface Facts {
  id: string;
  type: string;
  processId: string;
  parentId: string | undefined;
  topic: string | undefined;
  implementationType: string | undefined;
  jobType: string | undefined;
  properties: Record<string, string>;
  headers: Record<string, string>;
  inputs: { name: string; value: string | undefined }[];
  outputs: { name: string; value: string | undefined }[];
  documentation: string | undefined;
  outgoing: string[];
  attachedToRef: string | undefined;
  calledElement: string | undefined;
  errorCode: string | undefined;
}

/** Canonical JSON of activity facts, for comparing parsers. */
function canonical(facts: Iterable<Facts>): string {
  const rows = [...facts].map((fact) => ({
    ...fact,
    properties: Object.fromEntries(Object.entries(fact.properties).sort()),
    headers: Object.fromEntries(Object.entries(fact.headers).sort()),
  }));
  // Activity ids are unique, so no two rows compare equal.
  rows.sort((left, right) => (left.id < right.id ? -1 : 1));
  return JSON.stringify(rows);
}

function factsOfModel(model: DefinitionModel): string {
  return canonical(
    [...model.activities.values()].map((activity) => ({
      id: activity.id,
      type: activity.type,
      processId: activity.processId,
      parentId: activity.parentId,
      topic: activity.topic,
      implementationType: activity.implementationType,
      jobType: activity.jobType,
      properties: { ...activity.properties },
      headers: { ...activity.headers },
      inputs: activity.inputs.map((mapping) => ({ name: mapping.name, value: mapping.value })),
      outputs: activity.outputs.map((mapping) => ({ name: mapping.name, value: mapping.value })),
      documentation: activity.documentation,
      outgoing: [...activity.outgoing],
      attachedToRef: activity.attachedToRef,
      calledElement: activity.calledElement,
      errorCode: activity.errorCode,
    })),
  );
}

// ---------------------------------------------------------------------------
// A generic walker over any parser's tree, through a small view interface.

/** Access to one parser's tree. `S` is the namespace scope, for parsers that do not resolve namespaces. */
interface TreeView<N, S> {
  enter(node: N, scope: S): S;
  uri(node: N, scope: S): string;
  local(node: N): string;
  children(node: N): readonly N[];
  attribute(node: N, name: string): string | undefined;
  attributeNS(node: N, scope: S, uri: string, local: string): string | undefined;
  text(node: N): string;
}

const FLOW_NODES = new Set([
  'task', 'serviceTask', 'userTask', 'manualTask', 'scriptTask', 'businessRuleTask', 'sendTask', 'receiveTask',
  'startEvent', 'endEvent', 'intermediateCatchEvent', 'intermediateThrowEvent', 'implicitThrowEvent', 'boundaryEvent',
  'exclusiveGateway', 'inclusiveGateway', 'parallelGateway', 'complexGateway', 'eventBasedGateway',
  'callActivity', 'subProcess', 'transaction', 'adHocSubProcess',
]);
const CONTAINERS = new Set(['subProcess', 'transaction', 'adHocSubProcess']);

function localId(reference: string | undefined): string | undefined {
  return reference === undefined ? undefined : reference.slice(reference.lastIndexOf(':') + 1);
}

/** Walks a parsed tree to the activity facts, with the same rules as our extractor. */
function walkFacts<N, S>(root: N, view: TreeView<N, S>, rootScope: S): Facts[] {
  const scope = view.enter(root, rootScope);
  if (view.uri(root, scope) !== BPMN || view.local(root) !== 'definitions') {
    throw new Error('root is not BPMN definitions');
  }

  const errorCodes = new Map<string, string | undefined>();
  const sharedErrorRefs = new Map<string, string | undefined>();
  const facts = new Map<string, Facts & { errorRef: string | undefined; refs: string[] }>();
  const flows: [string, string][] = [];

  const camunda = (node: N, nodeScope: S, local: string): string | undefined =>
    view.attributeNS(node, nodeScope, OPERATON, local) ?? view.attributeNS(node, nodeScope, CAMUNDA, local);

  const visitScope = (container: N, containerScope: S, processId: string, parentId: string | undefined): void => {
    for (const child of view.children(container)) {
      const childScope = view.enter(child, containerScope);
      if (view.uri(child, childScope) !== BPMN) {
        continue;
      }
      const local = view.local(child);
      if (local === 'sequenceFlow') {
        const source = localId(view.attribute(child, 'sourceRef'));
        const target = localId(view.attribute(child, 'targetRef'));
        if (source !== undefined && target !== undefined) {
          flows.push([source, target]);
        }
      } else if (FLOW_NODES.has(local)) {
        visitFlowNode(child, childScope, local, processId, parentId);
      }
    }
  };

  const visitFlowNode = (node: N, nodeScope: S, type: string, processId: string, parentId: string | undefined): void => {
    const id = view.attribute(node, 'id');
    const fact = {
      id: id ?? '', type, processId, parentId,
      topic: camunda(node, nodeScope, 'topic'),
      implementationType: camunda(node, nodeScope, 'type'),
      jobType: undefined as string | undefined,
      properties: {} as Record<string, string>,
      headers: {} as Record<string, string>,
      inputs: [] as Facts['inputs'],
      outputs: [] as Facts['outputs'],
      documentation: undefined as string | undefined,
      outgoing: [] as string[],
      attachedToRef: localId(view.attribute(node, 'attachedToRef')),
      calledElement: view.attribute(node, 'calledElement'),
      errorCode: undefined as string | undefined,
      errorRef: undefined as string | undefined,
      refs: [] as string[],
    };
    const documentation: string[] = [];
    let eventTopic: string | undefined;
    let eventType: string | undefined;
    let zeebeCalled: string | undefined;

    for (const child of view.children(node)) {
      const childScope = view.enter(child, nodeScope);
      if (view.uri(child, childScope) !== BPMN) {
        continue;
      }
      switch (view.local(child)) {
        case 'extensionElements':
          zeebeCalled ??= readExtensions(child, childScope, fact);
          break;
        case 'documentation': {
          const text = view.text(child).trim();
          if (text !== '') {
            documentation.push(text);
          }
          break;
        }
        case 'messageEventDefinition':
          eventTopic ??= camunda(child, childScope, 'topic');
          eventType ??= camunda(child, childScope, 'type');
          break;
        case 'errorEventDefinition':
          fact.errorRef ??= localId(view.attribute(child, 'errorRef'));
          break;
        case 'eventDefinitionRef':
          fact.refs.push(localId(view.text(child).trim()) ?? '');
          break;
        default:
          break;
      }
    }
    fact.topic ??= eventTopic;
    fact.implementationType ??= eventType;
    fact.calledElement ??= zeebeCalled;
    fact.documentation = documentation.length === 0 ? undefined : documentation.join('\n\n');

    if (id !== undefined && !facts.has(id)) {
      facts.set(id, fact);
    }
    if (CONTAINERS.has(type)) {
      visitScope(node, nodeScope, processId, id === undefined || id === '' ? parentId : id);
    }
  };

  /** Reads the extension elements of a flow node; returns the Zeebe called element. */
  const readExtensions = (extensions: N, extensionsScope: S, fact: Facts): string | undefined => {
    let zeebeCalled: string | undefined;
    const camundaParts: { properties?: string; inputOutput?: string } = {};
    for (const element of view.children(extensions)) {
      const elementScope = view.enter(element, extensionsScope);
      const uri = view.uri(element, elementScope);
      const local = view.local(element);
      if ((uri === CAMUNDA || uri === OPERATON) && (local === 'properties' || local === 'inputOutput')) {
        const source = camundaParts[local];
        if (source === CAMUNDA && uri === OPERATON) {
          if (local === 'properties') {
            for (const key of Object.keys(fact.properties)) delete fact.properties[key];
          } else {
            fact.inputs.length = 0;
            fact.outputs.length = 0;
          }
        } else if (source === OPERATON && uri === CAMUNDA) {
          continue;
        }
        camundaParts[local] = uri;
        for (const item of view.children(element)) {
          const itemScope = view.enter(item, elementScope);
          if (view.uri(item, itemScope) !== uri) {
            continue;
          }
          const itemLocal = view.local(item);
          if (local === 'properties' && itemLocal === 'property') {
            const name = view.attribute(item, 'name');
            if (name !== undefined) fact.properties[name] = view.attribute(item, 'value') ?? '';
          } else if (local === 'inputOutput' && (itemLocal === 'inputParameter' || itemLocal === 'outputParameter')) {
            const name = view.attribute(item, 'name');
            if (name === undefined) continue;
            const value = view.children(item).length > 0 ? undefined : view.text(item).trim();
            (itemLocal === 'inputParameter' ? fact.inputs : fact.outputs).push({ name, value });
          }
        }
      } else if (uri === ZEEBE) {
        if (local === 'taskDefinition') {
          fact.jobType ??= view.attribute(element, 'type');
        } else if (local === 'calledElement') {
          zeebeCalled ??= view.attribute(element, 'processId');
        } else if (local === 'properties' || local === 'taskHeaders' || local === 'ioMapping') {
          for (const item of view.children(element)) {
            const itemScope = view.enter(item, elementScope);
            if (view.uri(item, itemScope) !== ZEEBE) continue;
            const itemLocal = view.local(item);
            if (local === 'properties' && itemLocal === 'property') {
              const name = view.attribute(item, 'name');
              if (name !== undefined) fact.properties[name] = view.attribute(item, 'value') ?? '';
            } else if (local === 'taskHeaders' && itemLocal === 'header') {
              const key = view.attribute(item, 'key');
              if (key !== undefined) fact.headers[key] = view.attribute(item, 'value') ?? '';
            } else if (local === 'ioMapping' && (itemLocal === 'input' || itemLocal === 'output')) {
              const target = view.attribute(item, 'target');
              if (target !== undefined) {
                (itemLocal === 'input' ? fact.inputs : fact.outputs).push({ name: target, value: view.attribute(item, 'source') ?? '' });
              }
            }
          }
        }
      }
    }
    return zeebeCalled;
  };

  for (const child of view.children(root)) {
    const childScope = view.enter(child, scope);
    if (view.uri(child, childScope) !== BPMN) {
      continue;
    }
    const id = view.attribute(child, 'id');
    switch (view.local(child)) {
      case 'process':
        visitScope(child, childScope, id ?? '', undefined);
        break;
      case 'error':
        if (id !== undefined && !errorCodes.has(id)) errorCodes.set(id, view.attribute(child, 'errorCode'));
        break;
      case 'errorEventDefinition':
        if (id !== undefined && !sharedErrorRefs.has(id)) sharedErrorRefs.set(id, localId(view.attribute(child, 'errorRef')));
        break;
      default:
        break;
    }
  }

  for (const [source, target] of flows) {
    const fact = facts.get(source);
    if (fact !== undefined && facts.has(target)) {
      fact.outgoing.push(target);
    }
  }
  const result: Facts[] = [];
  for (const fact of facts.values()) {
    let errorRef = fact.errorRef;
    for (const ref of fact.refs) errorRef ??= sharedErrorRefs.get(ref);
    const { errorRef: _errorRef, refs: _refs, ...rest } = fact;
    result.push({ ...rest, errorCode: errorRef === undefined ? undefined : errorCodes.get(errorRef) });
  }
  return result;
}

// ---------------------------------------------------------------------------
// The parsers: each parses, then walks its own tree.

/** Element of xml2js with `xmlns: true`, `explicitChildren` and `preserveChildrenOrder`. */
interface Xml2jsNode {
  $ns?: { local: string; uri: string };
  $?: Record<string, { value: string; local: string; uri: string }>;
  $$?: Xml2jsNode[];
  _?: string;
}

const xml2jsOptions: xml2js.ParserOptions = {
  xmlns: true,
  explicitChildren: true,
  preserveChildrenOrder: true,
  explicitRoot: false,
  async: false,
};

function parseXml2js(text: string): Xml2jsNode {
  let result: Xml2jsNode | undefined;
  let failure: unknown;
  new xml2js.Parser(xml2jsOptions).parseString(text, (error: unknown, value: Xml2jsNode) => {
    failure = error;
    result = value;
  });
  if (failure !== null && failure !== undefined) {
    throw failure;
  }
  if (result === undefined) {
    throw new Error('xml2js returned no result synchronously');
  }
  return result;
}

const NO_CHILDREN: readonly never[] = [];

const xml2jsView: TreeView<Xml2jsNode, null> = {
  enter: () => null,
  uri: (node) => node.$ns?.uri ?? '',
  local: (node) => node.$ns?.local ?? '',
  children: (node) => node.$$ ?? NO_CHILDREN,
  attribute: (node, name) => {
    const found = node.$?.[name];
    return found !== undefined && found.uri === '' ? found.value : undefined;
  },
  attributeNS: (node, _scope, uri, local) => {
    for (const key in node.$) {
      const found = node.$[key];
      if (found !== undefined && found.uri === uri && found.local === local) return found.value;
    }
    return undefined;
  },
  text: (node) => node._ ?? '',
};

/** Node of fast-xml-parser with `preserveOrder`: `{ [tag]: children, ':@': attributes }` or `{ '#text': text }`. */
type FxpNode = Record<string, unknown>;
type Namespaces = ReadonlyMap<string, string>;

const fxpOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  removeNSPrefix: false,
} as const;

function tagOf(node: FxpNode): string {
  for (const key in node) {
    if (key !== ':@') return key;
  }
  return '';
}

function fxpAttributes(node: FxpNode): Record<string, string> | undefined {
  return node[':@'] as Record<string, string> | undefined;
}

const fxpView: TreeView<FxpNode, Namespaces> = {
  enter: (node, scope) => {
    let declared: Map<string, string> | undefined;
    const attributes = fxpAttributes(node);
    for (const name in attributes) {
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        declared ??= new Map(scope);
        declared.set(name === 'xmlns' ? '' : name.slice(6), attributes[name] ?? '');
      }
    }
    return declared ?? scope;
  },
  uri: (node, scope) => {
    const tag = tagOf(node);
    const colon = tag.indexOf(':');
    return scope.get(colon === -1 ? '' : tag.slice(0, colon)) ?? '';
  },
  local: (node) => {
    const tag = tagOf(node);
    return tag.slice(tag.indexOf(':') + 1);
  },
  children: (node) => {
    const content = node[tagOf(node)];
    if (!Array.isArray(content)) return NO_CHILDREN;
    return (content as FxpNode[]).filter((child) => !('#text' in child));
  },
  attribute: (node, name) => fxpAttributes(node)?.[name],
  attributeNS: (node, scope, uri, local) => {
    const attributes = fxpAttributes(node);
    for (const name in attributes) {
      const colon = name.indexOf(':');
      if (colon !== -1 && name.slice(colon + 1) === local && name.slice(0, colon) !== 'xmlns' && scope.get(name.slice(0, colon)) === uri) {
        return attributes[name];
      }
    }
    return undefined;
  },
  text: (node) => {
    const content = node[tagOf(node)];
    if (!Array.isArray(content)) return '';
    let text = '';
    for (const child of content as FxpNode[]) {
      if ('#text' in child) text += String(child['#text']);
      else text += fxpView.text(child);
    }
    return text;
  },
};

const ROOT_NAMESPACES: Namespaces = new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]);

function fxpRoot(document: FxpNode[]): FxpNode {
  const root = document.find((node) => !('#text' in node) && !tagOf(node).startsWith('?'));
  if (root === undefined) throw new Error('fast-xml-parser found no root element');
  return root;
}

const domView: TreeView<DomElement, null> = {
  enter: () => null,
  uri: (node) => node.namespaceURI ?? '',
  local: (node) => node.localName ?? '',
  children: (node) => {
    const elements: DomElement[] = [];
    const nodes = node.childNodes;
    for (let index = 0; index < nodes.length; index += 1) {
      const child = nodes.item(index);
      if (child !== null && child.nodeType === 1) elements.push(child as unknown as DomElement);
    }
    return elements;
  },
  attribute: (node, name) => (node.hasAttribute(name) ? (node.getAttribute(name) ?? undefined) : undefined),
  attributeNS: (node, _scope, uri, local) => (node.hasAttributeNS(uri, local) ? (node.getAttributeNS(uri, local) ?? undefined) : undefined),
  text: (node) => node.textContent ?? '',
};

function parseDom(text: string): ReturnType<DOMParser['parseFromString']> {
  return new DOMParser({ onError: onErrorStopParsing, locator: false }).parseFromString(text, 'text/xml');
}

function walkDom(text: string): Facts[] {
  const root = parseDom(text).documentElement;
  if (root === null) {
    throw new Error('xmldom returned no document element');
  }
  return walkFacts(root, domView, null);
}

interface Parser {
  id: string;
  label: string;
  version: string;
  /** Parses and walks to the activity facts; this is what is timed. */
  extract(text: string): unknown;
  /** Canonical JSON of what `extract` returns, to compare parsers. */
  canonicalFacts(text: string): string;
  /** Parses only; the result is what the heap measurement keeps alive. */
  parse(text: string): unknown;
  /** Serializes a parse result, to look for expanded entities in it. */
  serialize(result: unknown): string;
}

function versionOf(name: string): string {
  const file = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

const PARSERS: Parser[] = [
  {
    id: 'ours',
    label: 'saxes extractor (parseDefinition)',
    version: `saxes ${versionOf('saxes')}`,
    extract: (text) => parseDefinition(text),
    canonicalFacts: (text) => factsOfModel(parseDefinition(text)),
    parse: (text) => parseDefinition(text),
    serialize: (result) => JSON.stringify([...(result as DefinitionModel).activities.values()]),
  },
  {
    id: 'xml2js',
    label: 'xml2js (sax) to objects, then walk',
    version: versionOf('xml2js'),
    extract: (text) => walkFacts(parseXml2js(text), xml2jsView, null),
    canonicalFacts: (text) => canonical(walkFacts(parseXml2js(text), xml2jsView, null)),
    parse: (text) => parseXml2js(text),
    serialize: (result) => JSON.stringify(result),
  },
  {
    id: 'fast-xml-parser',
    label: 'fast-xml-parser to ordered objects, then walk (no well-formedness check)',
    version: versionOf('fast-xml-parser'),
    extract: (text) => walkFacts(fxpRoot(new XMLParser(fxpOptions).parse(text) as FxpNode[]), fxpView, ROOT_NAMESPACES),
    canonicalFacts: (text) => canonical(walkFacts(fxpRoot(new XMLParser(fxpOptions).parse(text) as FxpNode[]), fxpView, ROOT_NAMESPACES)),
    parse: (text) => new XMLParser(fxpOptions).parse(text),
    serialize: (result) => JSON.stringify(result),
  },
  {
    id: 'fast-xml-parser-validated',
    label: 'fast-xml-parser with its validator first, then walk',
    version: versionOf('fast-xml-parser'),
    extract: (text) => walkFacts(fxpRoot(new XMLParser(fxpOptions).parse(text, true) as FxpNode[]), fxpView, ROOT_NAMESPACES),
    canonicalFacts: (text) =>
      canonical(walkFacts(fxpRoot(new XMLParser(fxpOptions).parse(text, true) as FxpNode[]), fxpView, ROOT_NAMESPACES)),
    parse: (text) => new XMLParser(fxpOptions).parse(text, true),
    serialize: (result) => JSON.stringify(result),
  },
  {
    id: 'xmldom',
    label: '@xmldom/xmldom DOM, then walk',
    version: versionOf('@xmldom/xmldom'),
    extract: (text) => walkDom(text),
    canonicalFacts: (text) => canonical(walkDom(text)),
    parse: (text) => parseDom(text),
    serialize: (result) => new XMLSerializer().serializeToString(result as ReturnType<typeof parseDom>),
  },
];

// ---------------------------------------------------------------------------
// Inputs.

interface Input {
  name: string;
  source: 'corpus' | 'generated';
  text: string;
  bytes: number;
}

/** The largest corpus files, as inputs of every parser. */
function corpusInputs(): Input[] {
  return largestCorpusInputs(requireCorpus(), CORPUS_INPUT_COUNT).map((input) => ({ ...input, source: 'corpus' }));
}

function generatedInput(tasks: number): Input {
  const semantic: string[] = [];
  const diagram: string[] = [];
  const shape = (id: string, x: number, y: number, width: number, height: number): void => {
    diagram.push(
      `      <bpmndi:BPMNShape id="${id}_di" bpmnElement="${id}">\n` +
        `        <dc:Bounds x="${x}" y="${y}" width="${width}" height="${height}" />\n` +
        '      </bpmndi:BPMNShape>',
    );
  };
  const edge = (id: string, from: number, to: number): void => {
    diagram.push(
      `      <bpmndi:BPMNEdge id="${id}_di" bpmnElement="${id}">\n` +
        `        <di:waypoint x="${from}" y="120" />\n        <di:waypoint x="${to}" y="120" />\n` +
        '      </bpmndi:BPMNEdge>',
    );
  };

  semantic.push('    <bpmn:startEvent id="Start" name="Start" />');
  shape('Start', 100, 102, 36, 36);
  let previous = 'Start';
  for (let index = 1; index <= tasks; index += 1) {
    const id = `Task_${index}`;
    const x = 100 + index * 160;
    semantic.push(
      `    <bpmn:sequenceFlow id="Flow_${index}" sourceRef="${previous}" targetRef="${id}" />\n` +
        `    <bpmn:serviceTask id="${id}" name="Step ${index}" camunda:type="external" camunda:topic="topic-${index % 25}">\n` +
        `      <bpmn:documentation>Calls service ${index % 7} for step ${index}.</bpmn:documentation>\n` +
        '      <bpmn:extensionElements>\n' +
        '        <camunda:properties>\n' +
        `          <camunda:property name="service" value="service-${index % 7}" />\n` +
        `          <camunda:property name="path" value="/steps/${index}" />\n` +
        '          <camunda:property name="method" value="POST" />\n' +
        '        </camunda:properties>\n' +
        '        <camunda:inputOutput>\n' +
        `          <camunda:inputParameter name="orderId">\${order.id}</camunda:inputParameter>\n` +
        `          <camunda:inputParameter name="step">${index}</camunda:inputParameter>\n` +
        `          <camunda:outputParameter name="result${index}">\${result}</camunda:outputParameter>\n` +
        '        </camunda:inputOutput>\n' +
        '      </bpmn:extensionElements>\n' +
        '    </bpmn:serviceTask>',
    );
    shape(id, x, 80, 100, 80);
    edge(`Flow_${index}`, x - 60, x);
    if (index % 50 === 0) {
      semantic.push(
        `    <bpmn:boundaryEvent id="Failed_${index}" attachedToRef="${id}">\n` +
          '      <bpmn:errorEventDefinition errorRef="Error_failed" />\n' +
          '    </bpmn:boundaryEvent>',
      );
      shape(`Failed_${index}`, x + 40, 142, 36, 36);
    }
    previous = id;
  }
  semantic.push(`    <bpmn:sequenceFlow id="Flow_end" sourceRef="${previous}" targetRef="End" />`, '    <bpmn:endEvent id="End" />');

  const text =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" ' +
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' +
    'id="Definitions_generated" targetNamespace="http://example.com/bench">\n' +
    '  <bpmn:process id="generated" isExecutable="true">\n' +
    `${semantic.join('\n')}\n` +
    '  </bpmn:process>\n' +
    '  <bpmn:error id="Error_failed" errorCode="STEP_FAILED" />\n' +
    '  <bpmndi:BPMNDiagram id="Diagram_generated">\n' +
    '    <bpmndi:BPMNPlane id="Plane_generated" bpmnElement="generated">\n' +
    `${diagram.join('\n')}\n` +
    '    </bpmndi:BPMNPlane>\n' +
    '  </bpmndi:BPMNDiagram>\n' +
    '</bpmn:definitions>\n';
  return { name: `generated: ${tasks} external service tasks`, source: 'generated', text, bytes: Buffer.byteLength(text) };
}

// ---------------------------------------------------------------------------
// Measurement.

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Runs `run` repeatedly for at least `minMs` and returns the mean time of one run in ms. */
function timeRuns(run: () => unknown, minMs: number, minRuns: number): number {
  let runs = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    run();
    runs += 1;
    elapsed = performance.now() - start;
  } while (elapsed < minMs || runs < minRuns);
  return elapsed / runs;
}

/** Median time in ms of one facts extraction per parser and input; samples alternate between parsers. */
function measureTimes(inputs: readonly Input[]): Map<string, Map<string, number>> {
  const times = new Map(PARSERS.map((parser) => [parser.id, new Map<string, number>()]));
  for (const input of inputs) {
    for (const parser of PARSERS) {
      timeRuns(() => parser.extract(input.text), WARM_UP_MS, WARM_UP_MIN_RUNS);
    }
    const samples = new Map<string, number[]>(PARSERS.map((parser) => [parser.id, []]));
    for (let round = 0; round < SAMPLES; round += 1) {
      for (const parser of PARSERS) {
        samples.get(parser.id)?.push(timeRuns(() => parser.extract(input.text), SAMPLE_MIN_MS, 1));
      }
    }
    for (const parser of PARSERS) {
      times.get(parser.id)?.set(input.name, median(samples.get(parser.id) ?? []));
    }
    process.stderr.write(`measured ${input.name}\n`);
  }
  return times;
}

function loadGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Keeps parse results reachable during a heap measurement. With the result
 * only in a local variable, the measured retention came out near zero, as if
 * the result had been collected before the second measurement.
 */
const heapSink: unknown[] = [];

/** Median heap in bytes that a parse result keeps alive, measured between full garbage collections. */
function retainedHeap(parser: Parser, text: string, gc: () => void): number {
  const samples: number[] = [];
  for (let round = 0; round < HEAP_SAMPLES; round += 1) {
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    heapSink.push(parser.parse(text));
    gc();
    gc();
    samples.push(process.memoryUsage().heapUsed - before);
    heapSink.length = 0;
  }
  return Math.max(0, Math.round(median(samples)));
}

// ---------------------------------------------------------------------------
// Security probes.

type ProbeOutcome = 'rejected' | 'accepted' | 'accepted, entity expanded' | 'accepted, entity not expanded' | 'accepted, file read';

interface Probes {
  doctype: ProbeOutcome;
  internalEntity: ProbeOutcome;
  billionLaughs: ProbeOutcome;
  externalEntity: ProbeOutcome;
}

const PROBE_ROOT = `<definitions xmlns="${BPMN}" targetNamespace="http://example.com/probe"><process id="p"><task id="t" name="NAME" /></process></definitions>`;

function probe(parser: Parser, xml: string, marker: string | undefined): ProbeOutcome {
  let result: unknown;
  try {
    result = parser.parse(xml);
  } catch {
    return 'rejected';
  }
  if (marker === undefined) {
    return 'accepted';
  }
  const serialized = parser.serialize(result);
  return serialized.includes(marker) ? 'accepted, entity expanded' : 'accepted, entity not expanded';
}

function probeParsers(): Map<string, Probes> {
  const directory = mkdtempSync(join(tmpdir(), 'xml-bench-'));
  try {
    const secretFile = join(directory, 'secret.txt');
    writeFileSync(secretFile, 'XXE-SECRET-MARKER');

    const doctype = `<?xml version="1.0"?><!DOCTYPE definitions [<!ELEMENT definitions ANY>]>${PROBE_ROOT.replace('NAME', 'plain')}`;
    const internal = `<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY e "ENTITY-EXPANDED">]>${PROBE_ROOT.replace('NAME', '&e;')}`;
    const levels = Array.from({ length: 9 }, (_, level) => `<!ENTITY l${level + 1} "${`&l${level};`.repeat(10)}">`).join('');
    const laughs = `<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY l0 "lol">${levels}]>${PROBE_ROOT.replace('NAME', '&l9;')}`;
    const external = `<?xml version="1.0"?><!DOCTYPE definitions [<!ENTITY x SYSTEM "file://${secretFile}">]>${PROBE_ROOT.replace('NAME', '&x;')}`;

    const outcomes = new Map<string, Probes>();
    for (const parser of PARSERS) {
      const externalOutcome = probe(parser, external, 'XXE-SECRET-MARKER');
      outcomes.set(parser.id, {
        doctype: probe(parser, doctype, undefined),
        internalEntity: probe(parser, internal, 'ENTITY-EXPANDED'),
        billionLaughs: probe(parser, laughs, 'lollollollollollollollollollol'),
        externalEntity: externalOutcome === 'accepted, entity expanded' ? 'accepted, file read' : externalOutcome,
      });
    }
    return outcomes;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function main(): void {
  const loadAtStart = loadavg()[0] ?? 0;
  const gc = loadGc();
  const inputs = [...corpusInputs(), generatedInput(GENERATED_TASKS)];

  const agreement = new Map<string, boolean>();
  for (const parser of PARSERS) {
    agreement.set(parser.id, inputs.every((input) => parser.canonicalFacts(input.text) === PARSERS[0]?.canonicalFacts(input.text)));
  }

  const probes = probeParsers();
  const times = measureTimes(inputs);
  const generated = inputs[inputs.length - 1] as Input;
  const totalBytes = inputs.reduce((sum, input) => sum + input.bytes, 0);

  const ours = times.get('ours') as Map<string, number>;
  const oursTotalMs = [...ours.values()].reduce((sum, ms) => sum + ms, 0);
  const oursMbPerSecond = totalBytes / 1e6 / (oursTotalMs / 1000);

  const parsers: Record<string, unknown> = {};
  for (const parser of PARSERS) {
    const perInput = times.get(parser.id) as Map<string, number>;
    const totalMs = [...perInput.values()].reduce((sum, ms) => sum + ms, 0);
    const mbPerSecond = totalBytes / 1e6 / (totalMs / 1000);
    const parserProbes = probes.get(parser.id) as Probes;
    parsers[parser.id] = {
      label: parser.label,
      version: parser.version,
      mbPerSecond: round(mbPerSecond, 2),
      filesPerSecond: round(inputs.length / (totalMs / 1000), 1),
      ratioToOurs: round(mbPerSecond / oursMbPerSecond, 3),
      rejectsDoctype: parserProbes.doctype === 'rejected',
      factsMatchOurs: agreement.get(parser.id),
      retainedHeapBytes: retainedHeap(parser, generated.text, gc),
      probes: parserProbes,
      perInput: Object.fromEntries(
        inputs.map((input) => {
          const ms = perInput.get(input.name) as number;
          return [input.name, { medianMs: round(ms, 3), mbPerSecond: round(input.bytes / 1e6 / (ms / 1000), 2) }];
        }),
      ),
    };
  }

  const cpu = cpus();
  const results = {
    generatedAt: new Date().toISOString(),
    command: 'npm run bench:xml',
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      logicalCpus: cpu.length,
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      os: `${platform()} ${release()} ${arch()}`,
      loadAverage1mAtStart: round(loadAtStart, 2),
      loadAverage1mAtEnd: round(loadavg()[0] ?? 0, 2),
    },
    node: process.version,
    method: {
      throughput:
        'per parser and input: warm-up, then samples taken in turns across parsers; each sample repeats parse plus walk ' +
        'to the activity facts for at least the sample time; the median sample is the time per file. ' +
        'mbPerSecond and filesPerSecond are over all inputs: total bytes (UTF-8) or file count divided by the sum of the per-file medians.',
      ratioToOurs: 'mbPerSecond of the parser divided by mbPerSecond of ours; below 1 is slower than ours',
      retainedHeapBytes:
        'heap used after a full GC with the raw parse result alive (our model; the others\' object tree or DOM, before the walk) ' +
        'minus heap used before the parse, on the generated input; median',
      rejectsDoctype: 'whether the parser raises on a DOCTYPE with an internal subset and no entity in use; probes has more cases',
      samples: SAMPLES,
      sampleMinMs: SAMPLE_MIN_MS,
      warmUpMs: WARM_UP_MS,
    },
    inputs: inputs.map((input) => ({ name: input.name, source: input.source, bytes: input.bytes })),
    totalBytes,
    parsers,
  };

  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

main();
