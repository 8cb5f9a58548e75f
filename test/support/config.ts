import { parseConfig } from '../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../src/errors.ts';

/** Parses configuration text that must be rejected and returns its problems; throws if it was accepted. */
export function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfig(text, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}
