import { PassThrough } from 'node:stream';

import { Progress } from '../../src/cli/progress.ts';

/** Creates a real stream that records what was written; `tty` marks it as a terminal, as process.stdout is one. */
function recorder(tty: boolean): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (chunk: Buffer) => {
    written += chunk.toString();
  });
  Object.assign(stream, { isTTY: tty });
  return { stream, text: () => written };
}

/** Creates a fake clock that each test advances by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return { now: () => time, advance: (ms) => { time += ms; } };
}

describe('progress line', () => {
  test('plain output writes at most one line per interval', () => {
    const out = recorder(false);
    const clock = fakeClock();
    const progress = new Progress(out.stream, { plainIntervalMs: 2_000, now: clock.now });

    progress.update('ended 1/10');
    clock.advance(500);
    progress.update('ended 2/10');
    clock.advance(2_000);
    progress.update('ended 5/10');
    progress.finish('ended 10/10');

    expect(out.text()).toBe('ended 1/10\nended 5/10\nended 10/10\n');
  });

  test('plain finish writes the held-back line', () => {
    const out = recorder(false);
    const clock = fakeClock();
    const progress = new Progress(out.stream, { now: clock.now });

    progress.update('started 1/2');
    progress.update('started 2/2');
    progress.finish();

    expect(out.text()).toBe('started 1/2\nstarted 2/2\n');
  });

  test('terminal output redraws one line', () => {
    const out = recorder(true);
    const clock = fakeClock();
    const progress = new Progress(out.stream, { liveIntervalMs: 100, now: clock.now });

    progress.update('ended 1/10');
    clock.advance(150);
    progress.update('ended 4/10');
    progress.finish('ended 10/10');

    expect(progress.live).toBe(true);
    expect(out.text()).toBe('\r\u001b[2Kended 1/10\r\u001b[2Kended 4/10\r\u001b[2Kended 10/10\n');
  });

  test('terminal message clears the progress line', () => {
    const out = recorder(true);
    const clock = fakeClock();
    const progress = new Progress(out.stream, { now: clock.now });

    progress.update('started 3/10');
    progress.message('deployed order-process v1');

    expect(out.text()).toBe('\r\u001b[2Kstarted 3/10\r\u001b[2Kdeployed order-process v1\n');
  });
});
