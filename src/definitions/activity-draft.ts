/**
 * The mutable form of an {@link Activity} while the extractor reads its
 * element, and its conversion to the frozen activity once all references
 * can be resolved.
 */
import { CAMUNDA_NS, CONTAINER_TYPES, OPERATON_NS } from './bpmn-vocabulary.ts';
import type { Activity, IoMapping } from './model.ts';

/** Camunda 7 extension elements that Operaton reads from one namespace only. */
export type CamundaPart = 'properties' | 'inputOutput';

export interface ActivityDraft {
  id: string;
  name: string | undefined;
  type: string;
  processId: string;
  parentId: string | undefined;
  isContainer: boolean;
  topic: string | undefined;
  implementationType: string | undefined;
  /** `camunda:topic` and `camunda:type` of a `messageEventDefinition`, where Camunda 7 puts them for message events. */
  eventTopic: string | undefined;
  eventImplementationType: string | undefined;
  jobType: string | undefined;
  camundaProperties: Record<string, string>;
  zeebeProperties: Record<string, string>;
  headers: Record<string, string>;
  camundaInputs: IoMapping[];
  camundaOutputs: IoMapping[];
  zeebeInputs: IoMapping[];
  zeebeOutputs: IoMapping[];
  /** Namespace URI that supplied each Camunda 7 part so far. */
  camundaSources: Record<CamundaPart, string | undefined>;
  documentation: string[];
  outgoing: string[];
  attachedToRef: string | undefined;
  calledElement: string | undefined;
  zeebeCalledElement: string | undefined;
  errorRef: string | undefined;
  /** Ids named by `eventDefinitionRef` children, which point to top-level event definitions. */
  eventDefinitionRefs: string[];
}

export function newActivityDraft(id: string, type: string, processId: string, parentId: string | undefined): ActivityDraft {
  return {
    id,
    name: undefined,
    type,
    processId,
    parentId,
    isContainer: CONTAINER_TYPES.has(type),
    topic: undefined,
    implementationType: undefined,
    eventTopic: undefined,
    eventImplementationType: undefined,
    jobType: undefined,
    camundaProperties: newRecord(),
    zeebeProperties: newRecord(),
    headers: newRecord(),
    camundaInputs: [],
    camundaOutputs: [],
    zeebeInputs: [],
    zeebeOutputs: [],
    camundaSources: { properties: undefined, inputOutput: undefined },
    documentation: [],
    outgoing: [],
    attachedToRef: undefined,
    calledElement: undefined,
    zeebeCalledElement: undefined,
    errorRef: undefined,
    eventDefinitionRefs: [],
  };
}

/** Creates the stand-in draft of a `process` element, which passes the process id to its flow nodes. */
export function newProcessScope(processId: string): ActivityDraft {
  const scope = newActivityDraft('', 'process', processId, undefined);
  scope.isContainer = true;
  return scope;
}

/** Returns the id of the sub-process that encloses a child of `enclosing`, passing over a sub-process without id. */
export function enclosingSubProcessId(enclosing: ActivityDraft): string | undefined {
  return enclosing.id === '' ? enclosing.parentId : enclosing.id;
}

/**
 * Decides whether a Camunda 7 part from namespace `uri` is read, as Operaton
 * does: Operaton's elements win over Camunda's whatever their order, so a
 * first Operaton element discards what Camunda's elements supplied.
 */
export function claimCamundaPart(draft: ActivityDraft, part: CamundaPart, uri: string): boolean {
  const source = draft.camundaSources[part];
  if (source === uri || source === undefined) {
    draft.camundaSources[part] = uri;
    return true;
  }
  if (source === CAMUNDA_NS && uri === OPERATON_NS) {
    draft.camundaSources[part] = uri;
    if (part === 'properties') {
      draft.camundaProperties = newRecord();
    } else {
      draft.camundaInputs = [];
      draft.camundaOutputs = [];
    }
    return true;
  }
  return false;
}

/** Sets a property or header. An entry without a key is skipped, one without a value becomes the empty string. */
export function setEntry(entries: Record<string, string>, key: string | undefined, value: string | undefined): void {
  if (key !== undefined) {
    entries[key] = value ?? '';
  }
}

/** Converts a draft to its frozen activity; outgoing targets must be resolved by then. */
export function finishActivity(draft: ActivityDraft, errorCode: string | undefined): Activity {
  return Object.freeze({
    id: draft.id,
    name: draft.name,
    type: draft.type,
    processId: draft.processId,
    parentId: draft.parentId,
    topic: draft.topic ?? draft.eventTopic,
    implementationType: draft.implementationType ?? draft.eventImplementationType,
    jobType: draft.jobType,
    properties: Object.freeze(Object.assign(newRecord(), draft.zeebeProperties, draft.camundaProperties)),
    headers: Object.freeze(draft.headers),
    inputs: Object.freeze([...draft.camundaInputs, ...draft.zeebeInputs]),
    outputs: Object.freeze([...draft.camundaOutputs, ...draft.zeebeOutputs]),
    documentation: draft.documentation.length === 0 ? undefined : draft.documentation.join('\n\n'),
    outgoing: Object.freeze(draft.outgoing),
    attachedToRef: draft.attachedToRef,
    calledElement: draft.calledElement ?? draft.zeebeCalledElement,
    errorCode,
  });
}

/**
 * Creates a record without prototype, so that keys from the file such as
 * `__proto__` or `constructor` are plain entries.
 */
function newRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
