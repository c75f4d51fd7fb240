/**
 * Every code block of README.md and docs/*.md runs as written, the way a
 * user would run it: under tsx from its TypeScript sources, and compiled by
 * tsc (strict) and run under plain node, with `farcall` resolving to the
 * built package in a temporary folder.
 *
 * Conventions for a block:
 * - ```ts (or ```js, run under node only) is a complete program. It may hold
 *   several files, each starting with a line `// name.ts` (optionally
 *   followed by `: what it is` or ` — what it is`); the program run is
 *   `main.ts`, or the block's last file. Without such a line the block is
 *   one file, main.ts. Name sibling modules `./x.js` as TypeScript does.
 * - It must exit by itself with code 0 within RUN_TIMEOUT_MS.
 * - ```ts fragment marks a block that is not a program (a signature, a
 *   shape, an excerpt using names it does not define): it is not compiled
 *   or run. ```sh and other languages are not run.
 * A failure names the file and line of the block and says what went wrong.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtPackage, compile, repo, tsxCli } from './built-package.ts';
import { limiter } from './limit.ts';

const RUN_TIMEOUT_MS = 30_000;
const FILE_HEADER = /^\/\/ ([\w.-]+\.(?:[mc]?ts|[mc]?js))(?:(?::| —| -).*)?$/;

interface Block {
  /** 'README.md:23' */
  where: string;
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js';
  files: Array<{ name: string; firstLine: number; text: string }>;
  main: string;
}

function blocksOf(doc: string): { blocks: Block[]; fragments: number } {
  const lines = readFileSync(join(repo, doc), 'utf8').split('\n');
  const blocks: Block[] = [];
  let fragments = 0;
  for (let i = 0; i < lines.length; i++) {
    // A fence may be indented (inside a list item); its body is, as much.
    const open = /^(\s*)```(\w*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const margin = open[1]!.length;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.trimStart().startsWith('```')) end++;
    const [lang, info] = [open[2]!, open[3]!.trim()];
    const body = lines.slice(i + 1, end).map((l) => l.slice(Math.min(margin, l.length - l.trimStart().length)));
    const start = i;
    i = end;
    if (!['ts', 'typescript', 'js', 'javascript'].includes(lang)) continue;
    if (info === 'fragment') {
      fragments++;
      continue;
    }
    const ext = lang.startsWith('t') ? 'ts' : 'js';
    const files: Block['files'] = [];
    body.forEach((text, k) => {
      const header = FILE_HEADER.exec(text);
      if (header) files.push({ name: header[1]!, firstLine: start + 2 + k, text: '' });
      else if (files.length === 0) files.push({ name: `main.${ext}`, firstLine: start + 2 + k, text: '' });
      if (!header) files[files.length - 1]!.text += `${text}\n`;
      else files[files.length - 1]!.text += '\n'; // keeps line numbers: line n of the file is line firstLine + n - 1
    });
    const main = files.find((f) => f.name === `main.${ext}`)?.name ?? files[files.length - 1]?.name ?? `main.${ext}`;
    blocks.push({ where: `${doc}:${start + 1}`, doc, line: start + 1, lang: ext, files, main });
  }
  return { blocks, fragments };
}

const docs = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = docs.flatMap((d) => blocksOf(d).blocks);

function runProgram(args: string[], cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (!err) return resolve(undefined);
      const how = err.killed ? `still running after ${RUN_TIMEOUT_MS} ms (killed)` : `exited with code ${err.code}`;
      resolve(`${how}\n${indent(`${stderr}${stdout}`.trim().split('\n').slice(-15).join('\n'))}`);
    });
  });
}

const indent = (s: string): string => s.replace(/^/gm, '    ');

/** `src/b3/main.ts(12,5): error TS...` → `README.md:47 (main.ts): error TS...`. */
function locateTscErrors(out: string): string {
  return out.replace(/^src\/b(\d+)\/([\w.-]+)\((\d+),(\d+)\)/gm, (_, b: string, name: string, line: string) => {
    const block = blocks[Number(b)]!;
    const file = block.files.find((f) => f.name === name.replace(/\.js$/, '.ts'))!;
    return `${block.doc}:${file.firstLine + Number(line) - 1} (${name}, block at line ${block.line})`;
  });
}

test('the README and docs hold code blocks, and every one is a program or marked a fragment', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} runnable blocks`);
  for (const b of blocks) assert.ok(b.files.every((f) => f.text.trim().length > 0), `${b.where}: a file of the block is empty`);
});

test('every README and docs snippet compiles (strict tsc) and runs under tsx and under node', async () => {
  const root = await builtPackage();
  blocks.forEach((b, i) => {
    const dir = join(root, 'src', `b${i}`);
    mkdirSync(dir, { recursive: true });
    for (const f of b.files) writeFileSync(join(dir, f.name), f.text);
  });
  const compiled = compile(root);
  // Two at a time (each waits on workers and processes it starts), the tsx runs while tsc compiles: far within the timeout even on a busy machine.
  const slot = limiter(2);
  const runBlock = async (b: Block, i: number): Promise<string[]> => {
    const failures: string[] = [];
    const attempt = async (how: string, args: string[], cwd: string): Promise<void> => {
      const failed = await slot(() => runProgram(args, cwd));
      if (failed) failures.push(`${b.where} (the block's ${b.main}) ${how}: ${failed}`);
    };
    const main = b.main.replace(/\.ts$/, '');
    if (b.lang === 'js') await attempt('under node', [`${main}.js`], join(root, 'src', `b${i}`));
    else {
      await attempt('under tsx', [tsxCli, `${main}.ts`], join(root, 'src', `b${i}`));
      if (!(await compiled)) await attempt('built, under node', [`${main}.js`], join(root, 'js', `b${i}`));
    }
    return failures;
  };
  const runs = await Promise.all(blocks.map(runBlock));
  const errors = await compiled;
  const failures: string[] = [];
  if (errors) failures.push(`tsc (strict) rejects snippets:\n${indent(locateTscErrors(errors).trim())}`);
  failures.push(...runs.flat());
  assert.ok(failures.length === 0, `${failures.length} snippet run(s) failed:\n${failures.join('\n')}`);
});

test.run();
