import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

import type { ConfigIssue } from '../errors.ts';

/**
 * Reads a service's `tls.ca` file: PEM certificates of the CAs to trust for
 * its https baseUrl. A relative path resolves against the configuration
 * file's folder. A file that cannot be read or holds no certificate adds an
 * issue and returns undefined.
 */
export function readServiceTls(
  service: string,
  caPath: string,
  baseDir: string,
  issues: ConfigIssue[],
  position: { line?: number; column?: number },
): { ca: string } | undefined {
  const file = isAbsolute(caPath) ? caPath : resolve(baseDir, caPath);
  const issue = (expected: string): undefined => {
    issues.push({ path: `services.${service}.tls.ca`, received: JSON.stringify(caPath), expected, ...position });
    return undefined;
  };

  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    return issue(`a readable PEM file (reading ${file} failed: ${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    return issue(`a PEM file with at least one -----BEGIN CERTIFICATE----- block (${file} has none)`);
  }
  return Object.freeze({ ca: pem });
}
