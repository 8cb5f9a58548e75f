/**
 * Streaming extractor from BPMN 2.0 XML to a {@link DefinitionModel}: one
 * pass of saxes with namespaces on, no DOM. Elements and attributes are
 * matched by namespace URI, so any prefix, or the default namespace, works.
 */
import { SaxesParser } from 'saxes';
import type { SaxesTagNS } from 'saxes';

import { BpmnParseError } from '../errors.ts';
import {
  claimCamundaPart,
  enclosingSubProcessId,
  finishActivity,
  newActivityDraft,
  newProcessScope,
  setEntry,
  type ActivityDraft,
} from './activity-draft.ts';
import {
  attribute,
  BPMN_MODEL_NS,
  CAMUNDA_NS,
  camundaAttribute,
  FLOW_NODE_TYPES,
  isXsdTrue,
  localId,
  OPERATON_NS,
  optionalLocalId,
  ZEEBE_NS,
} from './bpmn-vocabulary.ts';
import type { Activity, DefinitionModel, ParseLimits, ProcessInfo } from './model.ts';
import { StringPool } from './string-pool.ts';
import { decodeXml } from './xml-encoding.ts';

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxBytes: 16 * 1024 * 1024,
  maxDepth: 256,
  maxElements: 500_000,
});

/**
 * Role of an open element for the extractor. An `ignored` element has no
 * descendant of interest, so its whole subtree is skipped cheaply.
 */
type FrameKind =
  | 'ignored'
  | 'definitions'
  | 'process'
  | 'flowNode'
  | 'extensionElements'
  | 'camundaProperties'
  | 'camundaInputOutput'
  | 'zeebeProperties'
  | 'zeebeTaskHeaders'
  | 'zeebeIoMapping'
  | 'ioParameter'
  | 'documentation'
  | 'eventDefinitionRef';

interface Frame {
  readonly kind: FrameKind;
  /** Flow node that the element belongs to; for `process`, a stand-in that carries the process id. */
  readonly draft: ActivityDraft | undefined;
  /** Open `camunda:inputParameter` or `camunda:outputParameter`. */
  readonly parameter: ParameterDraft | undefined;
}

interface ParameterDraft {
  readonly name: string;
  readonly direction: 'input' | 'output';
  /** Set when the parameter contains an element (script, list, map) in place of text. */
  nested: boolean;
}

interface SequenceFlow {
  readonly sourceRef: string;
  readonly targetRef: string;
}

const IGNORED: Frame = Object.freeze({ kind: 'ignored', draft: undefined, parameter: undefined });

function frame(kind: FrameKind, draft: ActivityDraft | undefined): Frame {
  return { kind, draft, parameter: undefined };
}

/**
 * Parses BPMN 2.0 XML into the activities and processes the router needs.
 *
 * A string is parsed as it is, and the encoding in its XML declaration is
 * not consulted. Bytes are decoded by byte order mark, then by the declared
 * encoding, then as UTF-8. Bytes invalid in that encoding are an error.
 *
 * A flow node without an `id` is not recorded because nothing can refer to
 * it. When a file repeats an activity id, which valid BPMN does not, the
 * first activity with that id is kept and the later ones are dropped.
 * Sequence flows whose source or target is not a recorded activity are
 * dropped too.
 *
 * @throws BpmnParseError with code `ERR_BPMN_DOCTYPE` for any DOCTYPE, so no
 *   entity is ever declared or expanded; `ERR_BPMN_MALFORMED` for XML that is
 *   not well-formed or cannot be decoded; `ERR_BPMN_NOT_BPMN` when the root is
 *   not BPMN 2.0 `definitions`; `ERR_BPMN_LIMIT` past a {@link ParseLimits} bound.
 * @throws TypeError when a limit is not a positive integer.
 */
export function parseDefinition(xml: string | Uint8Array, limits?: Partial<ParseLimits>): DefinitionModel {
  const compiled = compileLimits(limits);

  const sourceBytes = typeof xml === 'string' ? Buffer.byteLength(xml, 'utf8') : xml.byteLength;
  if (sourceBytes > compiled.maxBytes) {
    throw new BpmnParseError(
      'ERR_BPMN_LIMIT',
      `BPMN XML is ${sourceBytes} bytes, over the maxBytes limit of ${compiled.maxBytes}; ` +
        'raise definitions.maxBytes in the configuration if the definition is genuine',
    );
  }

  const text = typeof xml === 'string' ? xml : decodeXml(xml);
  return new Extraction(compiled).run(text, sourceBytes);
}

function compileLimits(limits: Partial<ParseLimits> | undefined): Readonly<ParseLimits> {
  const compiled = { ...DEFAULT_PARSE_LIMITS };
  for (const key of ['maxBytes', 'maxDepth', 'maxElements'] as const) {
    const value = limits?.[key];
    if (value === undefined) {
      continue;
    }
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TypeError(`parse limit ${key} must be a positive integer, received ${String(value)}`);
    }
    compiled[key] = value;
  }
  return Object.freeze(compiled);
}

/**
 * State of one parse. The saxes handlers are arrow-function fields so that
 * saxes can call them unbound. A stack of frames records the role of each
 * open element, and the parent's role decides how a start tag is read.
 */
class Extraction {
  readonly #limits: Readonly<ParseLimits>;
  readonly #parser = new SaxesParser({ xmlns: true, position: true });
  readonly #pool = new StringPool();
  readonly #stack: Frame[] = [];
  #elementCount = 0;
  #targetNamespace: string | undefined;
  readonly #processes: ProcessInfo[] = [];
  readonly #drafts = new Map<string, ActivityDraft>();
  readonly #flows: SequenceFlow[] = [];
  /** `errorCode` by id of an `error` element. */
  readonly #errorCodes = new Map<string, string | undefined>();
  /** `errorRef` by id of a top-level `errorEventDefinition`, for events that name it in `eventDefinitionRef`. */
  readonly #sharedErrorRefs = new Map<string, string | undefined>();
  /**
   * Error for a root that is not BPMN, raised only after the whole document
   * has been read, so that XML that is not well-formed is reported as such.
   */
  #notBpmn: BpmnParseError | undefined;
  /** Text of the open `documentation`, parameter or `eventDefinitionRef`; undefined while no text is collected. */
  #text: string | undefined;

  constructor(limits: Readonly<ParseLimits>) {
    this.#limits = limits;
  }

  run(text: string, sourceBytes: number): DefinitionModel {
    const parser = this.#parser;
    parser.on('doctype', this.#onDoctype);
    parser.on('opentag', this.#onOpenTag);
    parser.on('closetag', this.#onCloseTag);
    parser.on('error', this.#onError);
    parser.write(text).close();

    if (this.#notBpmn !== undefined) {
      throw this.#notBpmn;
    }
    return {
      targetNamespace: this.#pool.internOptional(this.#targetNamespace),
      processes: Object.freeze(this.#processes),
      activities: this.#resolveActivities(),
      sourceBytes,
    };
  }

  #onDoctype = (doctype: string): void => {
    const name = doctype.trim().split(/[\s[]/, 1)[0] ?? '';
    throw new BpmnParseError(
      'ERR_BPMN_DOCTYPE',
      `BPMN XML contains a document type declaration (<!DOCTYPE ${name.slice(0, 40)} ...>) that ends at line ` +
        `${this.#parser.line}. DTDs are rejected so that no entity is ever declared or expanded (entity expansion, XXE). ` +
        'Remove the DOCTYPE: BPMN 2.0 XML does not use one',
      this.#position(),
    );
  };

  #onError = (error: Error): void => {
    // saxes starts its message with "line:column: ", which the error carries separately.
    const reason = error.message.replace(/^\d+:\d+: /, '');
    throw new BpmnParseError(
      'ERR_BPMN_MALFORMED',
      `BPMN XML is not well-formed at line ${this.#parser.line}, column ${this.#parser.column}: ${reason} ` +
        'Fix the XML; a truncated upload or a hand edit is the usual cause',
      this.#position(),
      { cause: error },
    );
  };

  #onOpenTag = (tag: SaxesTagNS): void => {
    this.#checkLimits();

    const stack = this.#stack;
    const parent = stack[stack.length - 1];
    if (parent === undefined) {
      stack.push(this.#openRoot(tag));
    } else if (parent.kind === 'ignored') {
      stack.push(IGNORED);
    } else if (parent.kind === 'ioParameter') {
      // A script, list or map in place of text, so the value is no plain expression.
      if (parent.parameter !== undefined) {
        parent.parameter.nested = true;
      }
      stack.push(IGNORED);
    } else {
      stack.push(this.#openChild(parent, tag));
    }
  };

  #onCloseTag = (): void => {
    const closed = this.#stack.pop();
    if (closed === undefined || closed.draft === undefined) {
      return;
    }
    const draft = closed.draft;

    if (closed.kind === 'documentation') {
      const text = this.#endText().trim();
      if (text !== '') {
        draft.documentation.push(text);
      }
    } else if (closed.kind === 'eventDefinitionRef') {
      draft.eventDefinitionRefs.push(localId(this.#endText().trim()));
    } else if (closed.kind === 'ioParameter' && closed.parameter !== undefined) {
      const text = this.#endText();
      const mapping = Object.freeze({ name: closed.parameter.name, value: closed.parameter.nested ? undefined : text.trim() });
      const list = closed.parameter.direction === 'input' ? draft.camundaInputs : draft.camundaOutputs;
      list.push(mapping);
    }
  };

  #checkLimits(): void {
    this.#elementCount += 1;
    if (this.#elementCount > this.#limits.maxElements) {
      throw new BpmnParseError(
        'ERR_BPMN_LIMIT',
        `BPMN XML has more than ${this.#limits.maxElements} elements (the maxElements limit), ` +
          `passed at line ${this.#parser.line}; raise the maxElements parse limit if the definition is genuine`,
        this.#position(),
      );
    }
    if (this.#stack.length >= this.#limits.maxDepth) {
      throw new BpmnParseError(
        'ERR_BPMN_LIMIT',
        `BPMN XML nests elements ${this.#stack.length + 1} deep at line ${this.#parser.line}, over the maxDepth ` +
          `limit of ${this.#limits.maxDepth}; raise the maxDepth parse limit if the definition is genuine`,
        this.#position(),
      );
    }
  }

  #openRoot(tag: SaxesTagNS): Frame {
    if (tag.uri === BPMN_MODEL_NS && tag.local === 'definitions') {
      this.#targetNamespace = attribute(tag, 'targetNamespace');
      return frame('definitions', undefined);
    }

    const namespace = tag.uri === '' ? 'no namespace' : `namespace "${tag.uri}"`;
    this.#notBpmn = new BpmnParseError(
      'ERR_BPMN_NOT_BPMN',
      `root element <${tag.name}> in ${namespace} is not BPMN 2.0: expected "definitions" in namespace ` +
        `"${BPMN_MODEL_NS}". Check that the file is a BPMN 2.0 XML export`,
      this.#position(),
    );
    return IGNORED;
  }

  #openChild(parent: Frame, tag: SaxesTagNS): Frame {
    switch (tag.uri) {
      case BPMN_MODEL_NS:
        return this.#openBpmn(parent, tag);
      case CAMUNDA_NS:
      case OPERATON_NS:
        return this.#openCamunda(parent, tag);
      case ZEEBE_NS:
        return this.#openZeebe(parent, tag);
      default:
        return IGNORED;
    }
  }

  #openBpmn(parent: Frame, tag: SaxesTagNS): Frame {
    switch (parent.kind) {
      case 'definitions':
        return this.#openRootElement(tag);
      case 'process':
        return this.#openInScope(parent, tag);
      case 'flowNode':
        return this.#openInFlowNode(parent, tag);
      default:
        return IGNORED;
    }
  }

  /** Opens a child of `definitions`: a process, an error or a shared error event definition. */
  #openRootElement(tag: SaxesTagNS): Frame {
    const id = attribute(tag, 'id');
    switch (tag.local) {
      case 'process':
        this.#processes.push(
          Object.freeze({
            id: this.#pool.intern(id ?? ''),
            name: this.#pool.internOptional(attribute(tag, 'name')),
            isExecutable: isXsdTrue(attribute(tag, 'isExecutable')),
            versionTag: this.#pool.internOptional(camundaAttribute(tag, 'versionTag')),
          }),
        );
        return frame('process', newProcessScope(id ?? ''));
      case 'error':
        if (id !== undefined && !this.#errorCodes.has(id)) {
          this.#errorCodes.set(id, attribute(tag, 'errorCode'));
        }
        return IGNORED;
      case 'errorEventDefinition':
        if (id !== undefined && !this.#sharedErrorRefs.has(id)) {
          this.#sharedErrorRefs.set(id, optionalLocalId(attribute(tag, 'errorRef')));
        }
        return IGNORED;
      default:
        return IGNORED;
    }
  }

  /** Opens a child of a process or a sub-process: a flow node or a sequence flow. */
  #openInScope(scope: Frame, tag: SaxesTagNS): Frame {
    if (FLOW_NODE_TYPES.has(tag.local)) {
      return this.#openFlowNode(scope, tag);
    }
    if (tag.local === 'sequenceFlow') {
      const sourceRef = attribute(tag, 'sourceRef');
      const targetRef = attribute(tag, 'targetRef');
      if (sourceRef !== undefined && targetRef !== undefined) {
        this.#flows.push({ sourceRef: localId(sourceRef), targetRef: localId(targetRef) });
      }
    }
    return IGNORED;
  }

  #openFlowNode(scope: Frame, tag: SaxesTagNS): Frame {
    const enclosing = scope.draft;
    const id = attribute(tag, 'id');
    const parentId = scope.kind === 'process' || enclosing === undefined ? undefined : enclosingSubProcessId(enclosing);
    const draft = newActivityDraft(id ?? '', tag.local, enclosing?.processId ?? '', parentId);
    draft.name = attribute(tag, 'name');
    draft.topic = camundaAttribute(tag, 'topic');
    draft.implementationType = camundaAttribute(tag, 'type');
    draft.attachedToRef = optionalLocalId(attribute(tag, 'attachedToRef'));
    draft.calledElement = attribute(tag, 'calledElement');

    // The first activity with an id is kept. A repeated id or a missing one leaves the draft unrecorded.
    if (id !== undefined && !this.#drafts.has(id)) {
      this.#drafts.set(id, draft);
    }
    return frame('flowNode', draft);
  }

  #openInFlowNode(parent: Frame, tag: SaxesTagNS): Frame {
    const draft = parent.draft;
    if (draft === undefined) {
      return IGNORED;
    }
    switch (tag.local) {
      case 'extensionElements':
        return frame('extensionElements', draft);
      case 'documentation':
        this.#beginText();
        return frame('documentation', draft);
      case 'messageEventDefinition':
        draft.eventTopic ??= camundaAttribute(tag, 'topic');
        draft.eventImplementationType ??= camundaAttribute(tag, 'type');
        return IGNORED;
      case 'errorEventDefinition':
        draft.errorRef ??= optionalLocalId(attribute(tag, 'errorRef'));
        return IGNORED;
      case 'eventDefinitionRef':
        this.#beginText();
        return frame('eventDefinitionRef', draft);
      default:
        return draft.isContainer ? this.#openInScope(parent, tag) : IGNORED;
    }
  }

  /** Opens an element of the Camunda 7 or the Operaton namespace. */
  #openCamunda(parent: Frame, tag: SaxesTagNS): Frame {
    const draft = parent.draft;
    if (draft === undefined) {
      return IGNORED;
    }
    const local = tag.local;
    switch (parent.kind) {
      case 'extensionElements':
        if (local === 'properties' && claimCamundaPart(draft, 'properties', tag.uri)) {
          return frame('camundaProperties', draft);
        }
        if (local === 'inputOutput' && claimCamundaPart(draft, 'inputOutput', tag.uri)) {
          return frame('camundaInputOutput', draft);
        }
        return IGNORED;
      case 'camundaProperties':
        if (local === 'property') {
          setEntry(draft.camundaProperties, attribute(tag, 'name'), attribute(tag, 'value'));
        }
        return IGNORED;
      case 'camundaInputOutput':
        return this.#openParameter(draft, tag);
      default:
        return IGNORED;
    }
  }

  /** Opens `camunda:inputParameter` or `camunda:outputParameter`, whose value is its text. */
  #openParameter(draft: ActivityDraft, tag: SaxesTagNS): Frame {
    let direction: 'input' | 'output';
    if (tag.local === 'inputParameter') {
      direction = 'input';
    } else if (tag.local === 'outputParameter') {
      direction = 'output';
    } else {
      return IGNORED;
    }

    // A parameter without a name is skipped: the engine could not map it either.
    const name = attribute(tag, 'name');
    if (name === undefined) {
      return IGNORED;
    }
    this.#beginText();
    return { kind: 'ioParameter', draft, parameter: { name, direction, nested: false } };
  }

  #openZeebe(parent: Frame, tag: SaxesTagNS): Frame {
    const draft = parent.draft;
    if (draft === undefined) {
      return IGNORED;
    }
    const local = tag.local;
    switch (parent.kind) {
      case 'extensionElements':
        return this.#openZeebeExtension(draft, tag);
      case 'zeebeProperties':
        if (local === 'property') {
          setEntry(draft.zeebeProperties, attribute(tag, 'name'), attribute(tag, 'value'));
        }
        return IGNORED;
      case 'zeebeTaskHeaders':
        if (local === 'header') {
          setEntry(draft.headers, attribute(tag, 'key'), attribute(tag, 'value'));
        }
        return IGNORED;
      case 'zeebeIoMapping':
        this.#addZeebeMapping(draft, tag);
        return IGNORED;
      default:
        return IGNORED;
    }
  }

  /** Opens a Zeebe element directly under the `extensionElements` of a flow node. */
  #openZeebeExtension(draft: ActivityDraft, tag: SaxesTagNS): Frame {
    switch (tag.local) {
      case 'taskDefinition':
        draft.jobType ??= attribute(tag, 'type');
        return IGNORED;
      case 'calledElement':
        draft.zeebeCalledElement ??= attribute(tag, 'processId');
        return IGNORED;
      case 'properties':
        return frame('zeebeProperties', draft);
      case 'taskHeaders':
        return frame('zeebeTaskHeaders', draft);
      case 'ioMapping':
        return frame('zeebeIoMapping', draft);
      default:
        return IGNORED;
    }
  }

  /** Adds a `zeebe:input` or `zeebe:output`; one without `target` is skipped, one without `source` maps the empty string. */
  #addZeebeMapping(draft: ActivityDraft, tag: SaxesTagNS): void {
    const target = attribute(tag, 'target');
    if (target === undefined) {
      return;
    }
    const mapping = Object.freeze({ name: target, value: attribute(tag, 'source') ?? '' });
    if (tag.local === 'input') {
      draft.zeebeInputs.push(mapping);
    } else if (tag.local === 'output') {
      draft.zeebeOutputs.push(mapping);
    }
  }

  /** Starts collecting text and CDATA. saxes does no text work at all while no text handler is set. */
  #beginText(): void {
    this.#text = '';
    this.#parser.on('text', this.#onText);
    this.#parser.on('cdata', this.#onText);
  }

  #endText(): string {
    const text = this.#text ?? '';
    this.#text = undefined;
    this.#parser.off('text');
    this.#parser.off('cdata');
    return text;
  }

  #onText = (text: string): void => {
    this.#text += text;
  };

  #position(): { line: number; column: number } {
    return { line: this.#parser.line, column: this.#parser.column };
  }

  #resolveActivities(): ReadonlyMap<string, Activity> {
    for (const flow of this.#flows) {
      const source = this.#drafts.get(flow.sourceRef);
      if (source !== undefined && this.#drafts.has(flow.targetRef)) {
        source.outgoing.push(flow.targetRef);
      }
    }

    const activities = new Map<string, Activity>();
    for (const [id, draft] of this.#drafts) {
      const activity = finishActivity(draft, this.#errorCode(draft), this.#pool);
      activities.set(activity.id, activity);
    }
    return activities;
  }

  /** Resolves the `errorCode` of the draft's error event definition, direct or named by `eventDefinitionRef`. */
  #errorCode(draft: ActivityDraft): string | undefined {
    let errorRef = draft.errorRef;
    for (const ref of draft.eventDefinitionRefs) {
      errorRef ??= this.#sharedErrorRefs.get(ref);
    }
    return errorRef === undefined ? undefined : this.#errorCodes.get(errorRef);
  }
}
