import type { Task } from '../types.ts';

/** The fields of a Camunda 7 external task, as fetch-and-lock returns them. */
export interface ExternalTaskJson {
  id: string;
  topicName: string;
  activityId: string;
  activityInstanceId?: string | null;
  executionId?: string | null;
  processInstanceId: string;
  processDefinitionId: string;
  processDefinitionKey?: string | null;
  businessKey?: string | null;
  tenantId?: string | null;
  retries?: number | null;
  priority?: number | null;
  workerId?: string | null;
  lockExpirationTime?: string | null;
  /**
   * The activity's `camunda:properties` when fetched with
   * `includeExtensionProperties`; Operaton 1.0.3 sends an empty object otherwise.
   */
  extensionProperties?: Record<string, string> | null;
}

/** Converts an external task to the engine-neutral {@link Task}. */
export function fromExternalTask(task: ExternalTaskJson): Task {
  const lockExpiresAt = task.lockExpirationTime ? Date.parse(task.lockExpirationTime) : Number.NaN;
  return {
    id: task.id,
    topic: task.topicName,
    activityId: task.activityId,
    activityInstanceId: task.activityInstanceId ?? undefined,
    processInstanceId: task.processInstanceId,
    processDefinitionId: task.processDefinitionId,
    processDefinitionKey: task.processDefinitionKey ?? undefined,
    businessKey: task.businessKey ?? undefined,
    tenantId: task.tenantId ?? undefined,
    retries: task.retries ?? null,
    priority: task.priority ?? 0,
    workerId: task.workerId ?? '',
    lockExpiresAt: Number.isNaN(lockExpiresAt) ? undefined : lockExpiresAt,
  };
}

/** Whether a value looks like a Camunda 7 external task rather than a {@link Task}. */
export function isExternalTask(value: unknown): value is ExternalTaskJson {
  return typeof value === 'object' && value !== null && typeof (value as { topicName?: unknown }).topicName === 'string';
}
