/** Longest part of a non-JSON error body kept in a message. */
const MAX_BODY_CHARS = 500;

/**
 * Extracts `type: message` from an engine's JSON error body, or returns the
 * start of a body that is not JSON (a servlet container's error page).
 */
export function engineErrorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { type?: unknown; message?: unknown };
    if (typeof parsed.message === 'string') {
      return typeof parsed.type === 'string' ? `${parsed.type}: ${parsed.message}` : parsed.message;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }

  const trimmed = text.trim();
  if (trimmed === '') {
    return '(empty response body)';
  }
  return trimmed.length > MAX_BODY_CHARS ? `${trimmed.slice(0, MAX_BODY_CHARS)}…` : trimmed;
}
