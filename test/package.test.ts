/** What npm users get: a license, and where the project, its docs and its issues live. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown>;

test('the package ships an MIT LICENSE file', () => {
  assert.is(pkg.license, 'MIT');
  assert.ok(existsSync(new URL('LICENSE', root)), 'LICENSE exists');
  assert.ok(readFileSync(new URL('LICENSE', root), 'utf8').startsWith('MIT License'));
  assert.ok((pkg.files as string[]).includes('LICENSE'), 'LICENSE is in files');
});

test('repository, homepage and bugs point at the project', () => {
  assert.equal(pkg.repository, { type: 'git', url: 'git+https://github.com/farcall/farcall.git' });
  assert.is(pkg.homepage, 'https://github.com/farcall/farcall#readme');
  assert.equal(pkg.bugs, { url: 'https://github.com/farcall/farcall/issues' });
});

test('packing builds dist first, so a tarball never lacks it', () => {
  assert.is((pkg.scripts as Record<string, string>).prepack, 'npm run build');
});

/** What `npm pack` puts in the tarball (scripts skipped: only the list is wanted). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fileURLToPath(root), encoding: 'utf8' });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}

test("the README's relative links and its chart point at files the package ships", () => {
  const files = packedFiles();
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const targets = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
  assert.ok(targets.some((t) => t.endsWith('.svg')), 'the chart is among them');
  for (const t of targets) assert.ok(files.includes(t), `${t} is linked from the README but not in the package`);
});

test('stack frames and source maps point at files the package ships: the TypeScript sources are in it', () => {
  const files = packedFiles();
  const build = JSON.parse(readFileSync(new URL('tsconfig.json', root), 'utf8')) as { compilerOptions: { sourceMap?: boolean } };
  assert.ok(build.compilerOptions.sourceMap, 'the build writes source maps');
  for (const f of ['src/index.ts', 'src/rpc/peer.ts', 'src/pool/worker-main.ts']) assert.ok(files.includes(f), `${f} is shipped`);
});

test.run();
