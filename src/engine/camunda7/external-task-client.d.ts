// Types for the parts of camunda-external-task-client-js 3.x that the adapter uses; the package ships none.
declare module 'camunda-external-task-client-js' {
  import { EventEmitter } from 'node:events';

  export type Interceptor = (config: Record<string, unknown>) => Record<string, unknown>;

  export interface ClientOptions {
    baseUrl: string;
    workerId?: string;
    maxTasks?: number;
    maxParallelExecutions?: number;
    interval?: number;
    lockDuration?: number;
    autoPoll?: boolean;
    asyncResponseTimeout?: number;
    usePriority?: boolean;
    interceptors?: Interceptor | Interceptor[];
    use?: unknown;
  }

  export interface TypedValue {
    value: unknown;
    type: string;
    valueInfo?: Record<string, unknown>;
  }

  export class Variables {
    constructor(initialVariables?: Record<string, TypedValue>, options?: Record<string, unknown>);
    getAll(): Record<string, unknown>;
    getAllTyped(): Record<string, TypedValue>;
    get(name: string): unknown;
    set(name: string, value: unknown): this;
    setTyped(name: string, typedValue: TypedValue): this;
    setAll(values: Record<string, unknown>): this;
  }

  export interface ExternalTask {
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
    errorMessage?: string;
    errorDetails?: string;
    retries?: number;
    retryTimeout?: number;
  }

  export interface TaskService {
    complete(task: { id: string }, variables?: Variables, localVariables?: Variables): Promise<void>;
    handleFailure(task: { id: string }, options: FailureOptions): Promise<void>;
    handleBpmnError(task: { id: string }, errorCode: string, errorMessage?: string, variables?: Variables): Promise<void>;
    extendLock(task: { id: string }, newDuration: number): Promise<void>;
    unlock(task: { id: string }): Promise<void>;
  }

  export interface SubscribeOptions {
    lockDuration?: number;
    variables?: string[];
    localVariables?: boolean;
  }

  export type Handler = (args: { task: ExternalTask; taskService: TaskService }) => Promise<void>;

  export interface TopicSubscription {
    unsubscribe(): void;
  }

  export class Client extends EventEmitter {
    constructor(options: ClientOptions);
    readonly taskService: TaskService;
    options: Required<Pick<ClientOptions, 'interval' | 'maxTasks'>> & ClientOptions;
    subscribe(topic: string, options: SubscribeOptions, handler: Handler): TopicSubscription;
    start(): void;
    stop(): void;
  }
}
