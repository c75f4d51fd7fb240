/**
 * Where `farcall top` shows its frames: a terminal, redrawn in place (ANSI
 * escapes by hand: alternate screen, hidden cursor, keys read raw), or a
 * pipe, which gets each frame as plain lines.
 */
import { writeSync } from 'node:fs';
import type { ReadStream, WriteStream } from 'node:tty';

const ESC = '\x1b[';
const ENTER = `${ESC}?1049h${ESC}?25l`;
const LEAVE = `${ESC}?25h${ESC}?1049l`;
const HOME_CLEAR = `${ESC}H${ESC}2J`;
const CTRL_C = '\x03';

export interface Screen {
  show(lines: string[]): void;
  /** Puts the terminal back as it was; safe to call more than once. */
  restore(): void;
}

/** Frames as plain lines, a blank line after each. */
export function plainScreen(out: NodeJS.WritableStream): Screen {
  return {
    show: (lines) => void out.write(lines.join('\n') + '\n\n'),
    restore: () => {},
  };
}

/**
 * The terminal: the alternate screen with the cursor hidden until
 * `restore()`, which also runs at process exit if nothing else ran it (an
 * uncaught error, an exit from elsewhere). Keys `q` and Ctrl-C call `quit`.
 */
export function terminalScreen(out: WriteStream, input: ReadStream | undefined, quit: () => void): Screen {
  let last: string[] = [];
  let active = true;
  const onKey = (data: Buffer | string): void => {
    const s = String(data);
    if (s.includes('q') || s.includes('Q') || s.includes(CTRL_C)) quit();
  };
  const redraw = (): void => draw(last);
  const draw = (lines: string[]): void => {
    last = lines;
    const rows = out.rows || 24;
    const columns = out.columns || 80;
    let shown = lines.length > rows ? [...lines.slice(0, rows - 1), `… ${lines.length - rows + 1} more lines (a taller terminal shows them)`] : lines;
    shown = shown.map((l) => (l.length > columns ? l.slice(0, columns - 1) + '…' : l));
    out.write(HOME_CLEAR + shown.join('\r\n'));
  };
  const restore = (): void => {
    if (!active) return;
    active = false;
    out.off('resize', redraw);
    process.off('exit', restore);
    if (input) {
      input.off('data', onKey);
      input.setRawMode(false);
      input.pause();
    }
    // Synchronous, so that it is out even when the process is on its way out.
    writeSync((out as unknown as { fd: number }).fd, LEAVE);
  };
  process.on('exit', restore);
  out.write(ENTER);
  out.on('resize', redraw);
  if (input) {
    input.setRawMode(true);
    input.on('data', onKey);
    input.resume();
  }
  return { show: draw, restore };
}
