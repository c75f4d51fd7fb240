/**
 * One rule finds worker, pool and child modules (src/module-href.ts): a
 * `.js` name whose file is not there stands for its `.ts` source, which
 * loads under tsx everywhere; under plain node a TypeScript module is
 * refused at once, saying how to fix it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, createSyncFn, spawn, startWorker, wrap } from '../src/index.ts';
import { builtPackage } from './built-package.ts';

type Tasks = typeof import('./fixtures/module-rule/tasks.ts');
const js = new URL('./fixtures/module-rule/tasks.js', import.meta.url);

test('under tsx, a .js name whose .ts source is there runs that source on every API', async () => {
  for (const isolation of ['thread', 'process'] as const) {
    const pool = createPool<Tasks>(js, { isolation, maxThreads: 1 });
    assert.is(await pool.api.add(1, 2), 3, `pool (${isolation})`);
    await pool.close();
  }
  const child = await spawn<Tasks>(js);
  assert.is(await child.api.add(2, 2), 4, 'spawn');
  await child.close();
  const worker = startWorker(js, { argv: ['expose'] });
  assert.is(await wrap<Tasks>(worker).add(3, 2), 5, 'startWorker');
  await worker.terminate();
  const add = createSyncFn<Tasks['add']>(js, 'add');
  assert.is(add(4, 2), 6, 'createSyncFn');
  add.close();
});

test('under plain node, a TypeScript module is refused at once by every API, saying to run under tsx or compile it', async () => {
  const dir = join(await builtPackage(), 'module-rule');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tasks.ts'), 'export const add = (a: number, b: number): number => a + b;\n');
  writeFileSync(
    join(dir, 'main.mjs'),
    `import { createPool, createSyncFn, spawn, startWorker } from 'farcall';
const url = new URL('./tasks.js', import.meta.url);
const ts = new URL('./tasks.ts', import.meta.url);
const out = [];
for (const [name, use] of [
  ['createPool', () => createPool(url)],
  ['spawn', () => spawn(ts)],
  ['startWorker', () => startWorker(url)],
  ['createSyncFn', () => createSyncFn(url, 'add')],
]) {
  try { await use(); out.push(name + ': no error'); } catch (e) { out.push(e.code + ' ' + e.message); }
}
console.log(out.join('\\n'));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['main.mjs'], { cwd: dir, timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.is(lines.length, 4, stdout);
  for (const [i, fn] of ['createPool', 'spawn', 'startWorker', 'createSyncFn'].entries()) {
    assert.match(lines[i]!, `ERR_FARCALL_UNSUPPORTED ${fn}(): module `);
    assert.match(lines[i]!, 'which this process cannot load: run the app under tsx (npx tsx main.ts, or node --import tsx main.js), or compile tasks.ts');
  }
  assert.match(lines[0]!, 'tasks.js does not exist, and its source tasks.ts is TypeScript');
});

test.run();
