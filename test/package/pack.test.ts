/**
 * The package as users get it: `npm pack`, then `npm install` of the tarball
 * into an empty folder outside the repository (its dependencies come from
 * the npm registry), then the command, the library and its type
 * declarations used from there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const repository = resolve('.');
const tsc = join(repository, 'node_modules/.bin/tsc');

/** What a command printed and how it exited. */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a non-zero exit is a result, not an error. */
async function exec(command: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') {
      throw error;
    }
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

let workDir: string;
let installDir: string;
let tarball: string;
let packedFiles: string[];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'router-pack-'));
  installDir = join(workDir, 'app');

  const packed = await exec('npm', ['pack', '--json', '--pack-destination', workDir], repository);
  expect(packed).toMatchObject({ code: 0 });
  // npm prints the prepack build's output before the JSON.
  const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as { filename: string; files: { path: string }[] }[];
  tarball = join(workDir, report[0]?.filename ?? '');
  packedFiles = (report[0]?.files ?? []).map((file) => file.path);

  await run('mkdir', [installDir]);
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'pack-test-app', private: true, type: 'module' }));
  const installed = await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], installDir);
  expect(installed).toMatchObject({ code: 0 });
}, 300_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('npm package', () => {
  test('contains the build and not the sources', () => {
    expect(packedFiles).toEqual(expect.arrayContaining([
      'dist/index.js', 'dist/index.d.ts', 'dist/cli/bin.js', 'dist/cli/main.js', 'config/schema.json', 'CHANGELOG.md', 'README.md', 'package.json',
    ]));
    expect(packedFiles.filter((file) => /^(src|test|bench|deploy|scripts)\//.test(file) || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  test('command prints its help', async () => {
    const help = await exec(join(installDir, 'node_modules/.bin/bpmn-task-router'), ['--help'], installDir);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: bpmn-task-router <command>');
    expect(help.stdout).toContain('doctor');
  });

  test('command validates a configuration', async () => {
    writeFileSync(join(installDir, 'good.yaml'), [
      '# yaml-language-server: $schema=node_modules/bpmn-task-router/config/schema.json',
      'engine: { baseUrl: http://127.0.0.1:8080/engine-rest }',
      'services: { inventory: { baseUrl: http://127.0.0.1:9000 } }',
      'topics: [{ topic: reserve-stock, service: inventory, path: /reserve }]',
      '',
    ].join('\n'));
    writeFileSync(join(installDir, 'bad.yaml'), 'engine: { baseUrl: http://127.0.0.1:8080/engine-rest, maxTasks: 0 }\ntopics: [{ topic: t }]\n');
    const command = join(installDir, 'node_modules/.bin/bpmn-task-router');

    const good = await exec(command, ['validate', 'good.yaml'], installDir);
    const bad = await exec(command, ['validate', 'bad.yaml'], installDir);

    expect(good).toMatchObject({ code: 0, stdout: 'good.yaml: valid (1 service, 1 topic)\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('bad.yaml:1:');
    expect(bad.stderr).toContain('engine.maxTasks: received 0, expected an integer from 1 to 1000');
  });

  test('command on old Node names the version', async () => {
    // The machines ship Node 20 as /usr/bin/node; where it is missing or new enough there is nothing to check.
    const systemNode = '/usr/bin/node';
    const version = existsSync(systemNode) ? (await exec(systemNode, ['--version'], installDir)).stdout.trim() : '';
    const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
    if (version === '' || major > 22 || (major === 22 && minor >= 19)) {
      console.warn(`skipped: no Node.js older than 22.19 at ${systemNode} (found ${version || 'none'})`);
      return;
    }

    const run = await exec(systemNode, [join(installDir, 'node_modules/bpmn-task-router/dist/cli/bin.js'), '--help'], installDir);

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`bpmn-task-router requires Node.js 22.19 or newer; this is Node.js ${version.replace(/^v/, '')}\n`);
  });

  test('demo explains that it needs the repository', async () => {
    const demo = await exec(join(installDir, 'node_modules/.bin/bpmn-task-router'), ['demo'], installDir);

    expect(demo.code).toBe(1);
    expect(demo.stderr).toContain('run the demo from a clone of the repository');
  });

  test('library imports and parses a configuration', async () => {
    writeFileSync(join(installDir, 'use.mjs'), [
      "import { parseConfig, ConfigError, ServiceOrchestrator } from 'bpmn-task-router';",
      "import { createRequire } from 'node:module';",
      'let code;',
      "try { parseConfig('engine: { baseUrl: x }\\ntopics: [{ topic: t }]\\n'); } catch (error) { code = error instanceof ConfigError ? error.code : String(error); }",
      "const schema = createRequire(import.meta.url)('bpmn-task-router/schema.json');",
      'console.log(JSON.stringify({ code, orchestrator: typeof ServiceOrchestrator, schemaTitle: schema.title }));',
      '',
    ].join('\n'));

    const used = await exec(process.execPath, ['use.mjs'], installDir);

    expect(used.stderr).toBe('');
    expect(JSON.parse(used.stdout)).toEqual({ code: 'ERR_CONFIG_INVALID', orchestrator: 'function', schemaTitle: 'bpmn-task-router configuration' });
  });

  test('type declarations compile in a strict project', async () => {
    writeFileSync(join(installDir, 'tsconfig.json'), JSON.stringify({
      // Like the declarations of pino and undici, the package's need Node's types; the repository's copy serves here.
      compilerOptions: {
        target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
        typeRoots: [join(repository, 'node_modules/@types')], types: ['node'],
      },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(installDir, 'consumer.ts'), [
      "import { ConfigError, parseConfig, type RouterConfig, type TaskHandler } from 'bpmn-task-router';",
      '',
      "const handler: TaskHandler = async (task) => ({ outcome: 'complete', variables: { seen: task.variables } });",
      'export function load(text: string): RouterConfig | readonly string[] {',
      '  try {',
      '    return parseConfig(text);',
      '  } catch (error) {',
      '    if (error instanceof ConfigError) {',
      '      return error.issues.map((issue) => `${issue.path}: ${issue.expected}`);',
      '    }',
      '    throw error;',
      '  }',
      '}',
      'export { handler };',
      '',
    ].join('\n'));

    const compiled = await exec(tsc, ['-p', 'tsconfig.json'], installDir);

    expect(compiled).toMatchObject({ code: 0, stdout: '' });
  });

  test('package.json names the build', () => {
    const manifest = JSON.parse(readFileSync(join(installDir, 'node_modules/bpmn-task-router/package.json'), 'utf8')) as Record<string, unknown>;

    expect(manifest.bin).toEqual({ 'bpmn-task-router': 'dist/cli/bin.js' });
    expect(manifest.types).toBe('./dist/index.d.ts');
    expect(manifest.engines).toEqual({ node: '>=22.19.0' });
  });
});
