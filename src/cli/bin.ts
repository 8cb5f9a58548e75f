#!/usr/bin/env node
/**
 * Entry point of the installed command. It checks the Node.js version before
 * importing anything else: the dependencies fail on older releases with
 * errors that do not say why (undici 8 throws a TypeError while loading on
 * Node 20).
 */

/** Oldest Node.js release the package supports, the same as `engines` in package.json. */
const MINIMUM_NODE = [22, 19] as const;

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1])) {
  process.stderr.write(`bpmn-task-router requires Node.js ${MINIMUM_NODE.join('.')} or newer; this is Node.js ${process.versions.node}\n`);
  process.exit(1);
}

await import('./main.ts');
