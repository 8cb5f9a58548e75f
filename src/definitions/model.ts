/**
 * The parsed form of one BPMN definition: what the daemon needs of each
 * activity to route its tasks and to predict the next ones. Engine-neutral:
 * Camunda 7 and Zeebe extension elements both land here.
 */

/** One input or output parameter (`camunda:inputParameter`, `zeebe:input`, ...). */
export interface IoMapping {
  /** Parameter name (Camunda 7 `name`, Zeebe `target`). */
  name: string;
  /**
   * Expression or literal text (Camunda 7 text content, trimmed; Zeebe `source`). Undefined when the
   * parameter has a nested script, list or map; the empty string for empty text or a missing `source`.
   */
  value: string | undefined;
}

/** A flow node of a process: task, event, gateway, sub-process or call activity. */
export interface Activity {
  id: string;
  name: string | undefined;
  /** BPMN element local name, e.g. `serviceTask`, `callActivity`, `exclusiveGateway`. */
  type: string;
  /** Id of the process (not sub-process) the activity belongs to. */
  processId: string;
  /** Id of the enclosing sub-process, when nested. */
  parentId: string | undefined;
  /**
   * `camunda:topic` of an external service task (also on send and business rule tasks). For a message
   * event it is read from the `messageEventDefinition`, where Camunda 7 puts it.
   */
  topic: string | undefined;
  /** `camunda:type`, e.g. `external`. */
  implementationType: string | undefined;
  /** Job type of `zeebe:taskDefinition`. */
  jobType: string | undefined;
  /**
   * `camunda:properties` / `zeebe:properties` entries; the last one wins when a name repeats. When
   * Operaton's namespace supplies properties, Camunda-namespace properties of the same activity are
   * ignored, as in Operaton.
   */
  properties: Readonly<Record<string, string>>;
  /** `zeebe:taskHeaders` entries. */
  headers: Readonly<Record<string, string>>;
  inputs: readonly IoMapping[];
  outputs: readonly IoMapping[];
  /** Trimmed text of the non-empty `documentation` elements, joined by blank lines. */
  documentation: string | undefined;
  /** Ids of the flow nodes that outgoing sequence flows lead to, in document order; flows to unknown ids are left out. */
  outgoing: readonly string[];
  /** For a boundary event, the activity it is attached to. */
  attachedToRef: string | undefined;
  /** For a call activity, `calledElement` (Camunda 7) or `zeebe:calledElement processId`. */
  calledElement: string | undefined;
  /** For an error boundary or end event, the `errorCode` of the referenced `error` element. */
  errorCode: string | undefined;
}

/** An executable or non-executable `process` element. */
export interface ProcessInfo {
  id: string;
  name: string | undefined;
  /** True for `isExecutable="true"` (or `"1"`); false when the attribute is absent. */
  isExecutable: boolean;
  /** Camunda 7 `camunda:versionTag`. */
  versionTag: string | undefined;
}

/** The parsed definition. Activities are keyed by id across all processes of the file. */
export interface DefinitionModel {
  /** `targetNamespace` of `definitions`. */
  targetNamespace: string | undefined;
  processes: readonly ProcessInfo[];
  activities: ReadonlyMap<string, Activity>;
  /** Size of the source XML in bytes (UTF-8 length of a string input), used to bound caches by memory. */
  sourceBytes: number;
}

/** Limits that protect the parser from hostile input. */
export interface ParseLimits {
  /** Maximum XML size in bytes. @default 16 MiB */
  maxBytes: number;
  /** Maximum element nesting depth. @default 256 */
  maxDepth: number;
  /** Maximum number of elements. @default 500_000 */
  maxElements: number;
}
