/** Longest part of a non-JSON error body kept in a message. */
const MAX_BODY_CHARS = 500;

/** An engine error response: its message for people, and the exception type for code. */
export interface EngineErrorBody {
  /** `type: message` from the JSON body, or the start of a body that is not JSON. */
  message: string;
  /** The exception type, e.g. `OptimisticLockingException`; undefined for a body that is not the engine's JSON. */
  type: string | undefined;
}

/** Reads an engine's JSON error body (`{ "type", "message", "code" }`) or, failing that, a servlet container's error page. */
export function parseEngineError(text: string): EngineErrorBody {
  try {
    const parsed = JSON.parse(text) as { type?: unknown; message?: unknown };
    if (typeof parsed.message === 'string') {
      const type = typeof parsed.type === 'string' ? parsed.type : undefined;
      return { message: type === undefined ? parsed.message : `${type}: ${parsed.message}`, type };
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }

  const trimmed = text.trim();
  if (trimmed === '') {
    return { message: '(empty response body)', type: undefined };
  }
  return { message: trimmed.length > MAX_BODY_CHARS ? `${trimmed.slice(0, MAX_BODY_CHARS)}…` : trimmed, type: undefined };
}

/**
 * Extracts `type: message` from an engine's JSON error body, or returns the
 * start of a body that is not JSON (a servlet container's error page).
 */
export function engineErrorMessage(text: string): string {
  return parseEngineError(text).message;
}
