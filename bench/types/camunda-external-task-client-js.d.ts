// Types for the parts of camunda-external-task-client-js 3.x that bench/engine-client.ts and
// docs/examples/external-task-client.ts use; the package ships none.
declare module 'camunda-external-task-client-js' {
  import type { EventEmitter } from 'node:events';

  export interface ClientOptions {
    baseUrl: string;
    workerId?: string;
    maxTasks?: number;
    /** Pause between two fetches, in milliseconds. */
    interval?: number;
    /** Lock taken on each fetched task, in milliseconds. */
    lockDuration?: number;
    /** Long-polling wait of a fetch, in milliseconds. */
    asyncResponseTimeout?: number;
    autoPoll?: boolean;
    usePriority?: boolean;
  }

  /** Process variables; `getAll()` returns plain values, `setAll()` infers each value's type. */
  export class Variables {
    getAll(): Record<string, unknown>;
    setAll(values: Record<string, unknown>): Variables;
  }

  /** A locked external task as the client hands it to a handler. */
  export interface Task {
    id: string;
    topicName: string;
    activityId: string;
    activityInstanceId?: string | null;
    processInstanceId: string;
    processDefinitionId: string;
    processDefinitionKey?: string | null;
    businessKey?: string | null;
    tenantId?: string | null;
    retries?: number | null;
    priority?: number | null;
    workerId?: string | null;
    lockExpirationTime?: string | null;
    variables: Variables;
  }

  export interface FailureOptions {
    errorMessage: string;
    errorDetails?: string;
    retries: number;
    /** Milliseconds until the engine hands the task out again. */
    retryTimeout: number;
  }

  /** Reports outcomes; each call rejects when the engine refuses it. */
  export interface TaskService {
    complete(task: Task, variables?: Variables, localVariables?: Variables): Promise<void>;
    handleFailure(task: Task, options: FailureOptions): Promise<void>;
    handleBpmnError(task: Task, errorCode: string, errorMessage?: string, variables?: Variables): Promise<void>;
    unlock(task: Task): Promise<void>;
  }

  export type Handler = (args: { task: Task; taskService: TaskService }) => Promise<void>;

  export interface TopicSubscription {
    unsubscribe(): void;
  }

  /** Emits `poll:start`, then `poll:success` or `poll:error` for each fetch. */
  export class Client extends EventEmitter {
    constructor(options: ClientOptions);
    subscribe(topic: string, handler: Handler): TopicSubscription;
    start(): void;
    stop(): void;
  }
}
