/**
 * The mutable form of an {@link Activity} while the extractor reads its
 * element, and its conversion to the frozen activity once all references
 * can be resolved.
 */
import { CAMUNDA_NS, CONTAINER_TYPES, OPERATON_NS } from './bpmn-vocabulary.ts';
import type { Activity, IoMapping } from './model.ts';
import type { StringPool } from './string-pool.ts';
import { frozenRecord } from './frozen-record.ts';

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

/**
 * Converts a draft to its frozen activity; outgoing targets must be resolved
 * by then. Strings go through `pool`, so the activity keeps no slice of the
 * XML text, and empty records and lists are shared.
 */
export function finishActivity(draft: ActivityDraft, errorCode: string | undefined, pool: StringPool): Activity {
  return Object.freeze({
    id: pool.intern(draft.id),
    name: pool.internOptional(draft.name),
    type: pool.intern(draft.type),
    processId: pool.intern(draft.processId),
    parentId: pool.internOptional(draft.parentId),
    topic: pool.internOptional(draft.topic ?? draft.eventTopic),
    implementationType: pool.internOptional(draft.implementationType ?? draft.eventImplementationType),
    jobType: pool.internOptional(draft.jobType),
    properties: internRecord(Object.assign(newRecord(), draft.zeebeProperties, draft.camundaProperties), pool),
    headers: internRecord(draft.headers, pool),
    inputs: internMappings([...draft.camundaInputs, ...draft.zeebeInputs], pool),
    outputs: internMappings([...draft.camundaOutputs, ...draft.zeebeOutputs], pool),
    documentation: draft.documentation.length === 0 ? undefined : pool.intern(draft.documentation.join('\n\n')),
    outgoing: draft.outgoing.length === 0 ? EMPTY_LIST : Object.freeze(draft.outgoing.map((id) => pool.intern(id))),
    attachedToRef: pool.internOptional(draft.attachedToRef),
    calledElement: pool.internOptional(draft.calledElement ?? draft.zeebeCalledElement),
    errorCode: pool.internOptional(errorCode),
  });
}

const EMPTY_RECORD: Readonly<Record<string, string>> = frozenRecord([]);
const EMPTY_LIST: readonly never[] = Object.freeze([]);

function internRecord(record: Record<string, string>, pool: StringPool): Readonly<Record<string, string>> {
  const entries: [string, string][] = [];
  for (const key in record) {
    entries.push([pool.intern(key), pool.intern(record[key] as string)]);
  }
  return entries.length === 0 ? EMPTY_RECORD : frozenRecord(entries);
}

function internMappings(mappings: readonly IoMapping[], pool: StringPool): readonly IoMapping[] {
  if (mappings.length === 0) {
    return EMPTY_LIST;
  }
  return Object.freeze(mappings.map((mapping) => Object.freeze({ name: pool.intern(mapping.name), value: pool.internOptional(mapping.value) })));
}

/**
 * Creates a record without prototype, so that keys from the file such as
 * `__proto__` or `constructor` are plain entries.
 */
function newRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
