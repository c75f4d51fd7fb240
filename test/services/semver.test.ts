// The version ranges connect({ service, version }) understands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { versionRange } from '../../src/services/semver.ts';

const cases: Array<[range: string, version: string, matches: boolean]> = [
  ['^1.4', '1.4.0', true], ['^1.4', '1.9.3', true], ['^1.4', '2.0.0', false], ['^1.4', '1.3.9', false],
  ['^0.4', '0.4.5', true], ['^0.4', '0.5.0', false], ['^0.0.4', '0.0.4', true], ['^0.0.4', '0.0.5', false],
  ['~1.4.2', '1.4.9', true], ['~1.4.2', '1.5.0', false], ['~1.4.2', '1.4.1', false], ['~1', '1.9.0', true],
  ['1.4.0', '1.4.0', true], ['1.4.0', '1.4.1', false], ['=1.4.0', '1.4.0', true], ['1.4', '1.4.7', true], ['1', '1.9.9', true],
  ['>=1.2', '1.2.0', true], ['>=1.2', '1.1.9', false], ['>1.2', '1.2.5', false], ['>1.2', '1.3.0', true], ['>1.2.0', '1.2.1', true],
  ['<2', '1.9.9', true], ['<2', '2.0.0', false], ['<=1.4', '1.4.9', true], ['<=1.4', '1.5.0', false],
  ['>=1.2 <2', '1.5.0', true], ['>=1.2 <2', '2.1.0', false], ['*', '3.0.0', true],
  ['^1.4', '1.5.0-beta', false], ['1.5.0-beta', '1.5.0-beta', true], ['^1.4', 'not a version', false],
];

test('each range matches the versions semver says it does', () => {
  for (const [range, version, matches] of cases) assert.is(versionRange(range)!(version), matches, `${version} in ${range}`);
});

test('a range that cannot be read is refused (undefined), not read as anything', () => {
  for (const bad of ['', 'banana', '^x.y', '>=', '1.2.3.4', '~>1']) assert.is(versionRange(bad), undefined, bad);
});

test.run();
