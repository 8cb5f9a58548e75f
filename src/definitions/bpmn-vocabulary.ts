/**
 * BPMN 2.0 and engine extension vocabulary for the extractor: namespace
 * URIs, the element names of flow nodes, and attribute access by namespace.
 */
import type { SaxesTagNS } from 'saxes';

export const BPMN_MODEL_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL';

/**
 * Camunda 7 extensions (`camunda:topic`, `camunda:properties`, `camunda:inputOutput`, ...).
 *
 * NOTE: Camunda 7's BpmnParse also reads `http://activiti.org/bpmn` as an
 * alternative URI of this namespace. The extractor does not, so extensions
 * bound to the Activiti URI (even under the prefix `camunda`) are not read.
 */
export const CAMUNDA_NS = 'http://camunda.org/schema/1.0/bpmn';

/**
 * Operaton's own namespace for the Camunda 7 extensions. Operaton's
 * BpmnParse declares it with {@link CAMUNDA_NS} as alternative URI and reads
 * the alternative only where nothing is found under this one. Files from
 * Operaton often still bind the prefix `operaton` to the Camunda URI.
 */
export const OPERATON_NS = 'http://operaton.org/schema/1.0/bpmn';

/** Camunda 8 (Zeebe) extensions. */
export const ZEEBE_NS = 'http://camunda.org/schema/zeebe/1.0';

/** Local names of the BPMN flow nodes that become activities. Choreography activities are not among them. */
export const FLOW_NODE_TYPES: ReadonlySet<string> = new Set([
  'task',
  'serviceTask',
  'userTask',
  'manualTask',
  'scriptTask',
  'businessRuleTask',
  'sendTask',
  'receiveTask',
  'startEvent',
  'endEvent',
  'intermediateCatchEvent',
  'intermediateThrowEvent',
  'implicitThrowEvent',
  'boundaryEvent',
  'exclusiveGateway',
  'inclusiveGateway',
  'parallelGateway',
  'complexGateway',
  'eventBasedGateway',
  'callActivity',
  'subProcess',
  'transaction',
  'adHocSubProcess',
]);

/** Flow nodes that contain flow nodes. An event sub-process is a `subProcess` with `triggeredByEvent="true"`. */
export const CONTAINER_TYPES: ReadonlySet<string> = new Set(['subProcess', 'transaction', 'adHocSubProcess']);

/** Returns an attribute in no namespace, which is where BPMN and the extensions put their own attributes. */
export function attribute(tag: SaxesTagNS, name: string): string | undefined {
  return tag.attributes[name]?.value;
}

/**
 * Returns a Camunda 7 extension attribute from the Operaton or the Camunda
 * namespace. When an element carries both, the Operaton one wins, as in
 * Operaton's parser.
 */
export function camundaAttribute(tag: SaxesTagNS, local: string): string | undefined {
  let camunda: string | undefined;
  const attributes = tag.attributes;
  for (const name in attributes) {
    const candidate = attributes[name];
    if (candidate === undefined || candidate.local !== local) {
      continue;
    }
    if (candidate.uri === OPERATON_NS) {
      return candidate.value;
    }
    if (candidate.uri === CAMUNDA_NS) {
      camunda = candidate.value;
    }
  }
  return camunda;
}

/**
 * Returns the id that a reference names. Ids are NCNames, which contain no
 * colon, so a colon ends a QName prefix (as in `tns:Task_1`) and the prefix
 * is dropped.
 */
export function localId(reference: string): string {
  const colon = reference.lastIndexOf(':');
  return colon === -1 ? reference : reference.slice(colon + 1);
}

export function optionalLocalId(reference: string | undefined): string | undefined {
  return reference === undefined ? undefined : localId(reference);
}

/** Parses an xsd:boolean: "true" or "1", surrounding whitespace allowed. */
export function isXsdTrue(value: string | undefined): boolean {
  const trimmed = value?.trim();
  return trimmed === 'true' || trimmed === '1';
}
