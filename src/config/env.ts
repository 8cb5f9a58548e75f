const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A `${NAME}` reference with no value in the environment and no default. */
export interface MissingVariable {
  name: string;
  /** Key path of the string that contains the reference. */
  path: (string | number)[];
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed YAML
 * value with environment variables, so secrets stay out of the file.
 * Returns the substituted copy and the references that could not be resolved.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; missing: MissingVariable[] } {
  const missing: MissingVariable[] = [];
  const result = visit(value, [], env, missing);
  return { value: result, missing };
}

function visit(value: unknown, path: (string | number)[], env: NodeJS.ProcessEnv, missing: MissingVariable[]): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (reference, name: string, fallback: string | undefined) => {
      const found = env[name];
      // As in the shell: `${NAME:-default}` replaces an unset or empty variable, `${NAME}` keeps an empty one.
      if (fallback !== undefined && (found === undefined || found === '')) {
        return fallback;
      }
      if (found !== undefined) {
        return found;
      }
      missing.push({ name, path });
      return reference;
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => visit(item, [...path, index], env, missing));
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = visit(item, [...path, key], env, missing);
    }
    return copy;
  }
  return value;
}
