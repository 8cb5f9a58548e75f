/**
 * Trace ids derived from process instance ids, so that every task of one
 * process instance lands in one trace on any replica and after restarts,
 * without storing anything in the engine.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { IdGenerator } from '@opentelemetry/sdk-trace';

/** Prefix hashed before the id, which keeps these hashes apart from hashes of the bare id made elsewhere. */
const HASH_DOMAIN = 'bpmn-task-router:process-instance:v1:';

/**
 * Returns the trace id of a process instance: the first 16 bytes of
 * SHA-256 over a fixed prefix and the id, as 32 lowercase hex digits. The
 * same id always gives the same trace id. The all-zero id, which W3C trace
 * context forbids, is replaced by one ending in 1.
 */
export function traceIdOfProcessInstance(processInstanceId: string): string {
  const digest = createHash('sha256').update(HASH_DOMAIN).update(processInstanceId, 'utf8').digest();
  const traceId = digest.subarray(0, 16);
  if (traceId.every((byte) => byte === 0)) {
    traceId[15] = 1;
  }
  return traceId.toString('hex');
}

/**
 * The tracer provider's id generator: random span ids, and trace ids that
 * are random unless {@link withTraceId} names the next one. The SDK
 * (`@opentelemetry/sdk-trace` 3.1) calls `generateTraceId()` only when it
 * starts a span without a valid parent, synchronously inside `startSpan()`,
 * so the id set by {@link withTraceId} reaches exactly the root span started
 * in its callback.
 */
export class ProcessInstanceIdGenerator implements IdGenerator {
  #nextTraceId: string | undefined;

  /** Runs `start` (which starts one root span) with `traceId` as the trace id handed out next. */
  withTraceId<T>(traceId: string, start: () => T): T {
    this.#nextTraceId = traceId;
    try {
      return start();
    } finally {
      this.#nextTraceId = undefined;
    }
  }

  generateTraceId(): string {
    const traceId = this.#nextTraceId ?? randomBytes(16).toString('hex');
    this.#nextTraceId = undefined;
    return traceId;
  }

  generateSpanId(): string {
    return randomBytes(8).toString('hex');
  }
}
