/**
 * Checks of a route's path, which comes from the configuration or from an
 * activity property of a deployed model. The daemon appends it to the
 * service's base URL on a connection pool bound to that service's origin,
 * so a path can never change the host. These checks also keep it inside the
 * base path: a server or proxy that normalizes `..`, an encoded slash or a
 * backslash could otherwise map it to a resource outside the service's
 * base path.
 */

/** Rounds of percent-decoding applied before the segment checks, so double-encoded dots and slashes are caught. */
const DECODE_ROUNDS = 3;

/**
 * Returns why `path` is not a safe route path, or undefined when it is. A
 * safe path starts with one `/`, has no `.` or `..` segment (also when
 * percent-encoded), no encoded `/` or `\`, no backslash, no fragment and no
 * whitespace or control characters. A query string after `?` is allowed.
 */
export function unsafePathReason(path: string): string | undefined {
  if (!path.startsWith('/')) {
    return 'a path must start with /; absolute URLs are not allowed, because the service\'s baseUrl sets the host';
  }
  if (path.startsWith('//')) {
    return 'a path must not start with //, which names a host';
  }
  if (/[\s\x00-\x1f\x7f]/.test(path)) {
    return 'a path must not contain whitespace or control characters';
  }
  if (path.includes('\\')) {
    return 'a path must not contain a backslash';
  }
  if (path.includes('#')) {
    return 'a path must not contain a fragment (#)';
  }

  const pathPart = path.split('?', 1)[0] as string;
  for (const segment of pathPart.split('/')) {
    const decoded = decodeRepeatedly(segment);
    if (decoded === undefined) {
      return `the segment ${JSON.stringify(segment)} has an invalid percent-encoding`;
    }
    if (decoded.includes('/') || decoded.includes('\\')) {
      return `the segment ${JSON.stringify(segment)} encodes a slash or backslash`;
    }
    if (decoded === '.' || decoded === '..') {
      return `the segment ${JSON.stringify(segment)} is a dot segment, which could leave the service's base path`;
    }
  }
  return undefined;
}

function decodeRepeatedly(segment: string): string | undefined {
  let current = segment;
  for (let round = 0; round < DECODE_ROUNDS && current.includes('%'); round += 1) {
    try {
      current = decodeURIComponent(current);
    } catch {
      return undefined;
    }
  }
  return current;
}
