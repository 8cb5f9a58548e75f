/**
 * Progress of a long command. On a terminal one line is rewritten in place.
 * Anywhere else (a pipe, a file, CI) a plain line is written at most once per
 * interval, plus the last one, so logs stay short.
 */

export interface ProgressOptions {
  /** Minimum time between two plain lines when the output is not a terminal, in ms. @default 2_000 */
  plainIntervalMs?: number;
  /** Minimum time between two redraws on a terminal, in ms. @default 100 */
  liveIntervalMs?: number;
  /** Clock in ms; tests pass their own. @default Date.now */
  now?: () => number;
}

/** Erases the terminal line the cursor is on and returns to its start (ANSI "erase in line"). */
const CLEAR_LINE = '\r\u001b[2K';

export class Progress {
  readonly #out: NodeJS.WritableStream;
  readonly #live: boolean;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastWrite = Number.NEGATIVE_INFINITY;
  #pending: string | undefined;

  constructor(out: NodeJS.WritableStream, options: ProgressOptions = {}) {
    this.#out = out;
    this.#live = (out as NodeJS.WriteStream).isTTY === true;
    this.#intervalMs = this.#live ? (options.liveIntervalMs ?? 100) : (options.plainIntervalMs ?? 2_000);
    this.#now = options.now ?? Date.now;
  }

  /** True when the line is redrawn in place. */
  get live(): boolean {
    return this.#live;
  }

  /** Shows the current state; on a terminal it replaces the previous one. */
  update(text: string): void {
    const now = this.#now();
    if (now - this.#lastWrite < this.#intervalMs) {
      this.#pending = text;
      return;
    }
    this.#write(text);
    this.#lastWrite = now;
    this.#pending = undefined;
  }

  /** Writes the final state (or the last one held back) and ends the line. */
  finish(text?: string): void {
    const last = text ?? this.#pending;
    if (last !== undefined) {
      this.#write(last);
    }
    if (this.#live && (last !== undefined || this.#lastWrite !== Number.NEGATIVE_INFINITY)) {
      this.#out.write('\n');
    }
    this.#pending = undefined;
    this.#lastWrite = Number.NEGATIVE_INFINITY;
  }

  /** Writes a message on its own line, keeping the progress line below it on a terminal. */
  message(text: string): void {
    if (this.#live && this.#lastWrite !== Number.NEGATIVE_INFINITY) {
      this.#out.write(`${CLEAR_LINE}${text}\n`);
      this.#lastWrite = Number.NEGATIVE_INFINITY;
      return;
    }
    this.#out.write(`${text}\n`);
  }

  #write(text: string): void {
    this.#out.write(this.#live ? `${CLEAR_LINE}${text}` : `${text}\n`);
  }
}
