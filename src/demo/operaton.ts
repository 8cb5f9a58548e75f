/**
 * Launcher of the bundled Operaton engine (deploy/operaton) for the tests and
 * the demo. It runs the engine jar with `java` as a child process bound to
 * 127.0.0.1, waits until the REST API responds, and stops it by pid.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { EngineStartError, IllegalStateError } from '../errors.ts';
import { getEngineVersion, type BasicAuthCredentials, type EngineRequestOptions } from './engine-rest.ts';
import { signJwt } from './jwt.ts';

export type { BasicAuthCredentials } from './engine-rest.ts';

/** Storage of the engine's data: in memory, an H2 file, or the local PostgreSQL. */
export type OperatonDatabase = 'mem' | { file: string } | 'postgres';

export interface OperatonOptions {
  /** HTTP port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * `'mem'` keeps everything in an in-memory H2 database that a stop discards.
   * `{ file }` names an H2 database file (H2 appends `.mv.db`) that survives
   * restarts. `'postgres'` uses database `test` on 127.0.0.1:5432 as user
   * `postgres` with trust authentication.
   * @default 'mem'
   */
  database?: OperatonDatabase;
  /**
   * Protects the REST API with HTTP basic authentication and creates this
   * admin user at start-up. The user is created only when missing, so a file
   * or PostgreSQL database keeps the first password it was started with.
   */
  basicAuth?: BasicAuthCredentials;
  /**
   * Protects the REST API with OAuth 2.0 bearer tokens: JWTs signed with
   * HS256 and `jwtSecret` (at least 32 characters), whose `aud` claim must
   * name `audience` when one is given. Excludes `basicAuth`.
   */
  oauth?: OAuthEngineOptions;
  /**
   * Engine log (its stdout and stderr), appended to across restarts.
   * @default a new engine.log under $OPERATON_ENGINE_DIR/runs/ (.tmp/engine/runs/ in the repository)
   */
  logFile?: string;
  /** Deadline for the REST API to respond after the process starts, in ms. @default 120_000 */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, in ms. @default 20_000 */
  stopGraceMs?: number;
}

/** The bearer-token check of the bundled engine. */
export interface OAuthEngineOptions {
  jwtSecret: string;
  audience?: string;
}

/** A running engine started by {@link startOperaton}. */
export interface OperatonProcess {
  /** REST base URL, `http://127.0.0.1:PORT/engine-rest`; the same after a restart. */
  readonly restUrl: string;
  readonly port: number;
  /** Pid of the current java process; a restart changes it. */
  readonly pid: number;
  readonly logFile: string;
  readonly basicAuth: BasicAuthCredentials | undefined;
  readonly oauth: OAuthEngineOptions | undefined;
  /**
   * Returns the credentials the engine requires, for the functions of
   * engine-rest.ts: its basic-auth user, or a bearer token signed with its
   * JWT secret that is valid for five minutes.
   */
  credentials(): Pick<EngineRequestOptions, 'auth' | 'token'>;
  /** Sends SIGTERM, then SIGKILL after the grace period. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops the engine and starts it again on the same port and database. */
  restart(): Promise<void>;
}

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const engineDir = join(repositoryRoot, 'deploy/operaton');
const appJar = join(engineDir, 'target/engine/operaton-engine.jar');
const cdsArchive = join(engineDir, 'target/engine/operaton-engine.jsa');
const jvmOptionsFile = join(engineDir, 'jvm.options');

/** Run folders (port, pid and default log files) older than this are removed at the next start. */
const RUN_FOLDER_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const READY_POLL_INTERVAL_MS = 100;
const KILL_WAIT_MS = 10_000;
const LOG_TAIL_LINES = 40;
/** Shortest JWT secret the engine accepts: HS256 keys should have at least 256 bits. */
const MIN_JWT_SECRET_BYTES = 32;
/** Lifetime of the tokens that {@link OperatonProcess.credentials} signs. */
const LAUNCHER_TOKEN_SECONDS = 300;

interface CompiledOptions {
  port: number;
  database: OperatonDatabase;
  basicAuth: BasicAuthCredentials | undefined;
  oauth: OAuthEngineOptions | undefined;
  logFile: string | undefined;
  startTimeoutMs: number;
  stopGraceMs: number;
}

type EngineState = 'starting' | 'running' | 'stopping' | 'stopped';

/** Java processes of this Node process that are still running, killed when Node exits. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts the bundled engine and resolves once `GET /engine-rest/version`
 * responds. Builds the jar first when it is missing or stale (through
 * `deploy/operaton/engine build`). Raises {@link EngineStartError}, with the
 * tail of the engine log, when the build fails, java exits, or the deadline
 * passes; the engine is stopped in those cases.
 */
export async function startOperaton(options: OperatonOptions = {}): Promise<OperatonProcess> {
  const compiled = compileOptions(options);
  await buildEngine();

  const stateDir = process.env.OPERATON_ENGINE_DIR ?? join(repositoryRoot, '.tmp/engine');
  const runsDir = join(stateDir, 'runs');
  await pruneRunFolders(runsDir);
  const runDir = join(runsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`);
  await mkdir(runDir, { recursive: true });

  const logFile = compiled.logFile ?? join(runDir, 'engine.log');
  await mkdir(dirname(logFile), { recursive: true });

  const engine = new OperatonEngine(compiled, runDir, logFile);
  await engine.launch(compiled.port);
  return engine;
}

function compileOptions(options: OperatonOptions): CompiledOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`options.port is ${port}; expected an integer from 0 (any free port) to 65535`);
  }

  const database = options.database ?? 'mem';
  if (database !== 'mem' && database !== 'postgres' && (typeof database !== 'object' || typeof database.file !== 'string' || database.file === '')) {
    throw new TypeError(`options.database is ${JSON.stringify(database)}; expected 'mem', 'postgres' or { file: 'path' }`);
  }

  const basicAuth = options.basicAuth;
  if (basicAuth !== undefined && (basicAuth.username === '' || basicAuth.password === '' || basicAuth.username.includes(':'))) {
    throw new TypeError('options.basicAuth needs a non-empty username without ":" and a non-empty password');
  }
  const oauth = options.oauth;
  if (oauth !== undefined && Buffer.byteLength(oauth.jwtSecret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new TypeError(`options.oauth.jwtSecret has ${Buffer.byteLength(oauth.jwtSecret, 'utf8')} bytes; HS256 needs at least ${MIN_JWT_SECRET_BYTES}`);
  }
  if (oauth !== undefined && basicAuth !== undefined) {
    throw new TypeError('options.oauth and options.basicAuth exclude each other; pass one of them');
  }

  return Object.freeze({
    port,
    database: typeof database === 'object' ? { file: resolve(database.file) } : database,
    basicAuth: basicAuth === undefined ? undefined : { ...basicAuth },
    oauth: oauth === undefined ? undefined : { ...oauth },
    logFile: options.logFile === undefined ? undefined : resolve(options.logFile),
    startTimeoutMs: positive('startTimeoutMs', options.startTimeoutMs ?? 120_000),
    stopGraceMs: positive('stopGraceMs', options.stopGraceMs ?? 20_000),
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`options.${name} is ${value}; expected a positive number of milliseconds`);
  }
  return value;
}

/** Runs `deploy/operaton/engine build`, a no-op when the jar is current. */
async function buildEngine(): Promise<void> {
  const script = join(engineDir, 'engine');
  const child = spawn('bash', [script, 'build'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolveExit, rejectExit) => {
    child.once('error', rejectExit);
    child.once('exit', (exitCode, exitSignal) => resolveExit([exitCode, exitSignal]));
  }).catch((error: unknown) => {
    throw new EngineStartError(`could not run bash ${script} build: ${String(error)}`, undefined, { cause: error });
  });

  if (code !== 0) {
    throw new EngineStartError(
      `building the engine failed (bash ${script} build exited with ${signal ?? code}); run it by hand to see the Maven output`,
    );
  }
}

/**
 * Removes run folders older than a day, so repeated test runs do not pile up
 * logs. A folder whose engine.pid names a live process is kept.
 */
async function pruneRunFolders(runsDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(runsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return;
    }
    throw error;
  }

  const cutoff = Date.now() - RUN_FOLDER_MAX_AGE_MS;
  for (const entry of entries) {
    const path = join(runsDir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || !info.isDirectory() || info.mtimeMs >= cutoff) {
      continue;
    }
    const pid = Number.parseInt(await readFile(join(path, 'engine.pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && isAlive(pid)) {
      continue;
    }
    await rm(path, { recursive: true, force: true });
  }
}

class OperatonEngine implements OperatonProcess {
  readonly logFile: string;
  readonly basicAuth: BasicAuthCredentials | undefined;
  readonly oauth: OAuthEngineOptions | undefined;

  readonly #options: CompiledOptions;
  readonly #portFile: string;
  readonly #pidFile: string;
  #state: EngineState = 'stopped';
  #port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #spawnError: Error | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: CompiledOptions, runDir: string, logFile: string) {
    this.#options = options;
    this.#portFile = join(runDir, 'engine.port');
    this.#pidFile = join(runDir, 'engine.pid');
    this.logFile = logFile;
    this.basicAuth = options.basicAuth;
    this.oauth = options.oauth;
  }

  credentials(): Pick<EngineRequestOptions, 'auth' | 'token'> {
    if (this.oauth === undefined) {
      return { auth: this.basicAuth };
    }
    const now = Math.floor(Date.now() / 1000);
    return { token: signJwt(this.oauth.jwtSecret, { sub: 'engine-launcher', aud: this.oauth.audience, iat: now, exp: now + LAUNCHER_TOKEN_SECONDS }) };
  }

  get port(): number {
    return this.#port;
  }

  get restUrl(): string {
    return `http://127.0.0.1:${this.#port}/engine-rest`;
  }

  get pid(): number {
    if (this.#child?.pid === undefined) {
      throw new IllegalStateError('the engine has no process; it is stopped or failed to start');
    }
    return this.#child.pid;
  }

  async restart(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'stopping') {
      throw new IllegalStateError(`cannot restart the engine while it is ${this.#state}`);
    }
    await this.stop();
    await this.launch(this.#port);
  }

  stop(): Promise<void> {
    if (this.#state === 'stopped') {
      return Promise.resolve();
    }
    this.#stopping ??= this.#terminate().finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  /** Spawns java on `port` (0 for any) and waits until the REST API responds. */
  async launch(port: number): Promise<void> {
    this.#state = 'starting';
    this.#spawnError = undefined;
    await rm(this.#portFile, { force: true });

    this.#spawn(port);
    try {
      await this.#waitUntilReady();
    } catch (error) {
      await this.#terminate();
      throw error;
    }
    this.#state = 'running';
  }

  #spawn(port: number): void {
    const appArgs = [`--server.port=${port}`, `--engine.port-file=${this.#portFile}`, ...databaseArgs(this.#options.database)];
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (this.basicAuth !== undefined) {
      // Spring Boot binds these to operaton.bpm.admin-user.*; the environment
      // keeps the password off the command line that `ps` shows.
      env.OPERATON_BPM_ADMINUSER_ID = this.basicAuth.username;
      env.OPERATON_BPM_ADMINUSER_PASSWORD = this.basicAuth.password;
      appArgs.push('--engine.basic-auth=true');
    }
    if (this.oauth !== undefined) {
      env.ENGINE_OAUTH_JWTSECRET = this.oauth.jwtSecret;
      appArgs.push('--engine.oauth.enabled=true');
      if (this.oauth.audience !== undefined) {
        appArgs.push(`--engine.oauth.audience=${this.oauth.audience}`);
      }
    }

    // The build records the class data sharing archive; without it java starts normally, only slower.
    const jvmArgs = [`@${jvmOptionsFile}`, ...(existsSync(cdsArchive) ? [`-XX:SharedArchiveFile=${cdsArchive}`] : [])];
    const logFd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(javaBinary(), [...jvmArgs, '-jar', appJar, ...appArgs], {
        stdio: ['ignore', logFd, logFd],
        env,
      });
    } finally {
      closeSync(logFd);
    }

    this.#exited = new Promise<void>((resolveExit) => {
      child.once('close', () => resolveExit());
      child.once('error', (error) => {
        this.#spawnError = error;
        resolveExit();
      });
    }).then(() => {
      liveChildren.delete(child);
    });
    // The engine must not keep Node alive on its own; the exit hook kills it.
    child.unref();
    this.#child = child;
    liveChildren.add(child);
    installExitHook();
    // For finding the process by hand when Node was killed before it could stop the engine.
    if (child.pid !== undefined) {
      writeFileSync(this.#pidFile, `${child.pid}\n`);
    }
  }

  async #waitUntilReady(): Promise<void> {
    const deadline = Date.now() + this.#options.startTimeoutMs;
    let lastError: unknown;

    while (Date.now() < deadline) {
      if (this.#spawnError !== undefined) {
        throw new EngineStartError(
          `could not run ${javaBinary()}: ${this.#spawnError.message}; install a JDK 17 or later, or set JAVA_HOME`,
          this.logFile,
          { cause: this.#spawnError },
        );
      }
      const child = this.#child;
      if (child !== undefined && child.exitCode !== null) {
        throw await this.#startError(`the engine exited with code ${child.exitCode} during start-up`);
      }
      if (child !== undefined && child.signalCode !== null) {
        throw await this.#startError(`the engine was killed by ${child.signalCode} during start-up`);
      }

      const port = await readPortFile(this.#portFile);
      if (port !== undefined) {
        this.#port = port;
        try {
          await getEngineVersion(this.restUrl, { ...this.credentials(), timeoutMs: 5_000 });
          return;
        } catch (error) {
          lastError = error;
        }
      }
      await sleep(READY_POLL_INTERVAL_MS);
    }

    const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
    throw await this.#startError(`the engine did not respond to GET /engine-rest/version within ${this.#options.startTimeoutMs} ms${last}`);
  }

  async #startError(message: string): Promise<EngineStartError> {
    const tail = await readLogTail(this.logFile, LOG_TAIL_LINES);
    return new EngineStartError(`${message}\n--- last lines of ${this.logFile} ---\n${tail}`, this.logFile);
  }

  /** SIGTERM by pid, then SIGKILL after the grace period; resolves when the process is gone. */
  async #terminate(): Promise<void> {
    const child = this.#child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      await this.#exited;
      await rm(this.#pidFile, { force: true });
      this.#state = 'stopped';
      return;
    }

    this.#state = 'stopping';
    const pid = child.pid;
    signal(pid, 'SIGTERM');
    if (!(await settlesWithin(this.#exited, this.#options.stopGraceMs))) {
      signal(pid, 'SIGKILL');
      if (!(await settlesWithin(this.#exited, KILL_WAIT_MS))) {
        throw new IllegalStateError(`engine pid ${pid} did not exit within ${KILL_WAIT_MS} ms of SIGKILL`);
      }
    }
    await rm(this.#pidFile, { force: true });
    this.#state = 'stopped';
  }
}

function databaseArgs(database: OperatonDatabase): string[] {
  if (database === 'mem') {
    return [];
  }
  if (database === 'postgres') {
    return ['--spring.profiles.active=postgres'];
  }
  // DB_CLOSE_ON_EXIT=FALSE leaves closing the file to Spring's shutdown, after the engine stopped.
  return [`--spring.datasource.url=jdbc:h2:file:${database.file};DB_CLOSE_ON_EXIT=FALSE`];
}

function javaBinary(): string {
  const javaHome = process.env.JAVA_HOME;
  return javaHome === undefined || javaHome === '' ? 'java' : join(javaHome, 'bin', 'java');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    // ESRCH: the process exited between the check and the signal.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  const timer = sleep(ms, false, { signal: timeout.signal }).catch(() => false);
  const settled = await Promise.race([promise.then(() => true), timer]);
  timeout.abort();
  return settled;
}

async function readPortFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const port = Number.parseInt(text.trim(), 10);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Returns the last `lines` lines of the log, reading at most its last 64 KiB. */
async function readLogTail(path: string, lines: number): Promise<string> {
  const maxBytes = 64 * 1024;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `(could not read the log: ${(error as Error).message})`;
  }
}

/** Kills every engine still running when Node exits, so none outlives its launcher. */
function installExitHook(): void {
  if (exitHookInstalled) {
    return;
  }
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        signal(child.pid, 'SIGKILL');
      }
    }
  });
}
