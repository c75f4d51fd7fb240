import type { Progress } from './matrix.ts';

/**
 * Progress on stderr: one line rewritten in place on a terminal, one plain
 * line per case otherwise (a log, a CI job).
 */
export function progressOn(stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled) return { cell() {}, step() {}, end() {} };
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  if (!stream.isTTY) {
    return {
      cell: (done, total, what) => stream.write(`[${done + 1}/${total}] ${what}\n`),
      step() {},
      end: () => stream.write(`bench done in ${elapsed()}\n`),
    };
  }
  let head = '';
  const draw = (tail: string): void => {
    const line = `${head}${tail ? ` — ${tail}` : ''}`;
    const width = stream.columns || 100;
    stream.write(`\r\x1b[K${line.length > width - 1 ? line.slice(0, width - 2) + '…' : line}`);
  };
  return {
    cell(done, total, what) {
      head = `[${done + 1}/${total}, ${total - done - 1} left, ${elapsed()}] ${what}`;
      draw('');
    },
    step: (what) => draw(what),
    end: () => stream.write(`\r\x1b[Kbench done in ${elapsed()}\n`),
  };
}
