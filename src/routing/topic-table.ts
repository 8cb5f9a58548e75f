import { selects, type TaskSelection } from '../config/topic-selectors.ts';
import type { TopicOptions } from '../config/types.ts';
import { RouterError } from '../errors.ts';

/**
 * The configured topic entries by topic name. Entries of one name serve
 * disjoint tenants or process definition keys (the configuration loader
 * checks that), so at most one serves a given task.
 */
export class TopicTable {
  readonly #byName = new Map<string, TopicOptions[]>();

  constructor(topics: readonly TopicOptions[]) {
    for (const topic of topics) {
      this.#byName.set(topic.topic, [...(this.#byName.get(topic.topic) ?? []), topic]);
    }
  }

  /**
   * Returns the entry that serves a task. Throws a {@link RouterError}
   * (`ERR_UNKNOWN_TOPIC`) when the topic is not configured, or when none of
   * its entries serves the task's tenant and process definition key.
   */
  entryFor(task: TaskSelection & { topic: string }): TopicOptions {
    const entries = this.#byName.get(task.topic);
    if (entries === undefined) {
      throw new RouterError('ERR_UNKNOWN_TOPIC', `topic "${task.topic}" is not configured; add it under topics:`);
    }
    const entry = entries.find((candidate) => selects(candidate, task));
    if (entry === undefined) {
      const tenant = task.tenantId === undefined ? 'no tenant' : `tenant "${task.tenantId}"`;
      throw new RouterError(
        'ERR_UNKNOWN_TOPIC',
        `no entry of topic "${task.topic}" serves ${tenant} and process definition key "${task.processDefinitionKey ?? ''}"; add one under topics: or widen the tenantIds or processDefinitionKeys of an entry`,
      );
    }
    return entry;
  }
}
