// Types for the parts of camunda-external-task-client-js 3.x that bench/engine-client.ts uses; the package ships none.
declare module 'camunda-external-task-client-js' {
  export interface ClientOptions {
    baseUrl: string;
    workerId?: string;
    maxTasks?: number;
    autoPoll?: boolean;
    usePriority?: boolean;
  }

  export class Client {
    constructor(options: ClientOptions);
    stop(): void;
  }
}
