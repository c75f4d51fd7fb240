/** What npm users get: a license, and where the project, its docs and its issues live. */
import { existsSync, readFileSync } from 'node:fs';
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

test.run();
