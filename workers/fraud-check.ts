/**
 * Example in-process handler: a fraud check on an order. It shows the three
 * outcomes a handler can return and how it requests a retry.
 *
 * Configure it on a topic:
 *
 *   topics:
 *     - topic: fraud-check
 *       handler: ../../workers/fraud-check.ts
 *       variables: [orderId, orderTotalCents, country]
 */
import type { HandlerContext, HandlerResult, HandlerTask } from '../src/dispatch/handlers.ts';

/** Orders at or above this total raise the `FRAUD_SUSPECTED` BPMN error. */
export const REVIEW_THRESHOLD_CENTS = 1_000_000;

/** Countries whose orders are scored higher. */
const HIGH_RISK_COUNTRIES: ReadonlySet<string> = new Set(['XX']);

/**
 * Scores an order from its `orderTotalCents` and `country`:
 * - completes with `fraudScore` (0 to 100) and `fraudCheckedAt`;
 * - raises the BPMN error `FRAUD_SUSPECTED` for totals at or above
 *   {@link REVIEW_THRESHOLD_CENTS}, so the model can route to a review;
 * - fails, without retry, when `orderTotalCents` is missing or not a
 *   non-negative integer;
 * - fails transiently when the daemon's signal is already aborted (a
 *   forced stop), so the task is retried or handed back rather than failed.
 */
export default async function handle(task: HandlerTask, context: HandlerContext): Promise<HandlerResult> {
  const total = task.variables.orderTotalCents;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) {
    return {
      outcome: 'failure',
      message: `orderTotalCents of order ${String(task.variables.orderId)} is ${JSON.stringify(total) ?? 'missing'}; expected a non-negative integer`,
    };
  }
  if (context.signal.aborted) {
    return { outcome: 'failure', message: 'fraud check aborted before it ran', transient: true };
  }

  if (total >= REVIEW_THRESHOLD_CENTS) {
    return {
      outcome: 'bpmnError',
      errorCode: 'FRAUD_SUSPECTED',
      message: `order total ${total} cents needs a manual review`,
      variables: { fraudScore: 100 },
    };
  }

  const countryRisk = HIGH_RISK_COUNTRIES.has(String(task.variables.country)) ? 40 : 0;
  const amountRisk = Math.round((total / REVIEW_THRESHOLD_CENTS) * 60);
  return {
    outcome: 'complete',
    variables: { fraudScore: Math.min(99, countryRisk + amountRisk), fraudCheckedAt: new Date().toISOString() },
  };
}
