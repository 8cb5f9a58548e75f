/**
 * The last task seen of each process instance, with the predictions made
 * after it, so the next task of the instance can be scored and counted as a
 * transition. Bounded: the least recently seen instance is forgotten first,
 * and its next task then counts as the first of an instance.
 */

/** How many recent task ids of an instance are kept, to skip a task that is delivered again. */
const RECENT_TASKS = 4;

export interface InstanceStep {
  definitionId: string;
  activityId: string;
  /** Activity ids predicted to come next, most likely first. */
  predicted: readonly string[];
}

/** An instance's last step with the ids of its recent tasks, newest first. */
export interface TrackedInstance extends InstanceStep {
  readonly recentTaskIds: readonly string[];
}

/** The last step of each process instance; see the module comment. */
export class InstanceTracker {
  readonly #maxInstances: number;
  readonly #instances = new Map<string, TrackedInstance>();

  constructor(maxInstances: number) {
    if (!Number.isSafeInteger(maxInstances) || maxInstances < 1) {
      throw new TypeError(`InstanceTracker: maxInstances must be a positive integer, received ${String(maxInstances)}`);
    }
    this.#maxInstances = maxInstances;
  }

  get size(): number {
    return this.#instances.size;
  }

  /** Returns the instance's last step and recent tasks, or undefined for an instance not seen (or forgotten). */
  get(processInstanceId: string): TrackedInstance | undefined {
    return this.#instances.get(processInstanceId);
  }

  /** Returns the instance's last step, or undefined for an instance not seen (or forgotten). */
  last(processInstanceId: string): InstanceStep | undefined {
    return this.#instances.get(processInstanceId);
  }

  /** Returns whether the task was among the instance's recent tasks, i.e. it is delivered again. */
  isRepeated(processInstanceId: string, taskId: string): boolean {
    return this.#instances.get(processInstanceId)?.recentTaskIds.includes(taskId) === true;
  }

  /**
   * Records a task as the instance's last step and marks the instance most
   * recently seen. `previous` is what {@link get} returned for the instance,
   * passed by a caller that has it, to spare a lookup.
   */
  record(processInstanceId: string, taskId: string, step: InstanceStep, previous: TrackedInstance | undefined = this.#instances.get(processInstanceId)): void {
    const recentTaskIds = previous === undefined ? [taskId] : [taskId, ...previous.recentTaskIds.slice(0, RECENT_TASKS - 1)];
    if (previous !== undefined) {
      this.#instances.delete(processInstanceId);
    }
    this.#instances.set(processInstanceId, { definitionId: step.definitionId, activityId: step.activityId, predicted: step.predicted, recentTaskIds });
    if (this.#instances.size > this.#maxInstances) {
      this.#instances.delete(this.#instances.keys().next().value as string);
    }
  }

  clear(): void {
    this.#instances.clear();
  }
}
