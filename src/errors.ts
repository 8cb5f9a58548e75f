/**
 * Error classes of the daemon and the library. Each carries a stable `code`
 * that callers and logs can match on; the message names the offending value
 * and what to do about it.
 */

/** Base class: every error this package raises on purpose extends it. */
export class RouterError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found in a configuration file. */
export interface ConfigIssue {
  /** Key path such as `topics[2].service`. */
  path: string;
  /** The value found there, shortened for display. */
  received: string;
  /** Description of the values allowed there. */
  expected: string;
  /** 1-based line and column in the file, when known. */
  line?: number;
  column?: number;
}

/** Raised at start-up or by `validate` when a configuration file is invalid. */
export class ConfigError extends RouterError {
  readonly file: string | undefined;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string | undefined, issues: readonly ConfigIssue[]) {
    super('ERR_CONFIG_INVALID', formatConfigIssues(file, issues));
    this.file = file;
    this.issues = issues;
  }
}

/** Problems listed in a {@link ConfigError} message; all of them stay in `issues`. */
const MAX_ISSUES_SHOWN = 50;

function formatConfigIssues(file: string | undefined, issues: readonly ConfigIssue[]): string {
  const where = file ?? 'configuration';
  const shown = issues.slice(0, MAX_ISSUES_SHOWN);
  const lines = shown.map((issue) => {
    const position = issue.line === undefined ? '' : `:${issue.line}:${issue.column ?? 1}`;
    return `  ${where}${position} ${issue.path}: received ${issue.received}, expected ${issue.expected}`;
  });
  if (issues.length > shown.length) {
    lines.push(`  ... and ${issues.length - shown.length} more`);
  }
  return `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Codes of {@link BpmnParseError}. */
export type BpmnParseErrorCode =
  | 'ERR_BPMN_DOCTYPE'
  | 'ERR_BPMN_MALFORMED'
  | 'ERR_BPMN_NOT_BPMN'
  | 'ERR_BPMN_LIMIT';

/**
 * Raised when a definition's XML cannot be used: not well-formed, carrying a
 * DOCTYPE or entity declaration, not BPMN 2.0, or past a size limit.
 */
export class BpmnParseError extends RouterError {
  declare readonly code: BpmnParseErrorCode;
  /** 1-based position of the problem in the XML, when the parser reported one. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: BpmnParseErrorCode, message: string, position?: { line?: number; column?: number }, options?: ErrorOptions) {
    super(code, message, options);
    this.line = position?.line;
    this.column = position?.column;
  }
}

/**
 * A {@link BpmnParseError} of a definition fetched by id: the message names
 * the definition id before the parser's message, and the code, line and
 * column are the parser's.
 */
export class DefinitionParseError extends BpmnParseError {
  readonly definitionId: string;

  constructor(definitionId: string, error: BpmnParseError) {
    super(error.code, `definition "${definitionId}" rejected: ${error.message}`, { line: error.line, column: error.column }, { cause: error });
    this.definitionId = definitionId;
  }
}

/** Raised when a task's route names a service that the configuration does not declare. */
export class UnknownServiceError extends RouterError {
  readonly service: string;

  constructor(service: string, declared: readonly string[], where: string) {
    super(
      'ERR_UNKNOWN_SERVICE',
      `service "${service}" named by ${where} is not declared in the configuration; ` +
        `declared services: ${declared.length > 0 ? declared.join(', ') : '(none)'}. ` +
        'Add it under `services:` or fix the name.',
    );
    this.service = service;
  }
}

/** Raised when no route can be resolved for a task (no service and no handler). */
export class RouteError extends RouterError {
  constructor(message: string) {
    super('ERR_ROUTE', message);
  }
}

/** Raised by the engine adapter when an engine REST call fails. */
export class EngineRequestError extends RouterError {
  readonly status: number | undefined;
  /** The `type` of the engine's JSON error body, e.g. `OptimisticLockingException`, when it sent one. */
  readonly engineErrorType: string | undefined;

  constructor(message: string, status?: number, options?: ErrorOptions & { engineErrorType?: string }) {
    super('ERR_ENGINE_REQUEST', message, options);
    this.status = status;
    this.engineErrorType = options?.engineErrorType;
  }
}

/**
 * Raised when a variable cannot be converted between a plain value and an
 * engine type. That is a value that does not fit the type its route
 * declared, a number JSON cannot carry, or an engine value that cannot be
 * read, such as a `Json` variable that is not valid JSON.
 */
export class VariableTypeError extends RouterError {
  readonly variable: string;

  constructor(variable: string, message: string, options?: ErrorOptions) {
    super('ERR_VARIABLE_TYPE', message, options);
    this.variable = variable;
  }
}

/** Raised when a component is used after `close()` or before it started. */
export class IllegalStateError extends RouterError {
  constructor(message: string) {
    super('ERR_ILLEGAL_STATE', message);
  }
}

/** Raised by `ServiceOrchestrator.getMetrics()` when the orchestrator was created with `enableMetrics: false`. */
export class MetricsDisabledError extends RouterError {
  constructor() {
    super(
      'ERR_METRICS_DISABLED',
      'ServiceOrchestrator.getMetrics() is not available because the orchestrator was created with enableMetrics: false; ' +
        'create it with enableMetrics: true (the default) to collect metrics',
    );
  }
}

/**
 * Raised when the bundled Operaton engine cannot be built or started, or does
 * not answer its REST API within the start deadline. The message ends with the
 * tail of the engine log when there is one.
 */
export class EngineStartError extends RouterError {
  /** Engine log file, when the engine process was started. */
  readonly logFile: string | undefined;

  constructor(message: string, logFile?: string, options?: ErrorOptions) {
    super('ERR_ENGINE_START', message, options);
    this.logFile = logFile;
  }
}

/** Raised when a bounded wait for a condition runs out of time. */
export class WaitTimeoutError extends RouterError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_WAIT_TIMEOUT', message, options);
  }
}
