/**
 * Imports point down the layers (DESIGN.md, "Layout"): no import cycle runs
 * through the core, rpc/, pool/ or transport/, counting `import type` too (a
 * type that needs the module above it is in the wrong place).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const CORE = ['rpc/', 'pool/', 'transport/'];

/** Relative module specifiers of `text`: static and type imports, re-exports, dynamic import(). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'";]*?\bfrom\s+['"](\.[^'"]+)['"]/gm)) found.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"](\.[^'"]+)['"]/gm)) found.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found;
}

function graph(): Map<string, string[]> {
  const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(src, f));
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const f of files) {
    edges.set(f, importsOf(readFileSync(f, 'utf8')).map((s) => resolve(dirname(f), s)).filter((t) => known.has(t)));
  }
  return edges;
}

/** The strongly connected components of more than one module (Tarjan). */
function cycles(edges: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the finder sees every kind of import, and a cycle among them', () => {
  const text = `import { a } from './a.ts';\nimport type { B } from '../b.ts';\nexport { c } from './c.ts';\nexport type {\n  D,\n} from './d.ts';\nimport './e.ts';\nconst f = await import('./f.ts');\nimport { g } from 'node:fs';`;
  assert.equal(importsOf(text), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', './f.ts']);
  const edges = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
  ]);
  assert.equal(cycles(edges), [['a', 'b', 'c']]);
  edges.set('c', ['d']);
  assert.equal(cycles(edges), []);
});

test('no import cycle runs through rpc/, pool/ or transport/', () => {
  const through = cycles(graph())
    .map((c) => c.map((f) => relative(src, f).split('\\').join('/')))
    .filter((c) => c.some((f) => CORE.some((dir) => f.startsWith(dir))));
  assert.equal(through, [], `cycles: ${through.map((c) => c.join(' <-> ')).join('; ')}`);
});

test.run();
