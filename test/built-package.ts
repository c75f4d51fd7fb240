/**
 * The package as npm users get it, for tests that run code the way they
 * would: dist compiled into `<root>/node_modules/farcall` of a temporary
 * folder, beside package.json and README.md, so `import ... from 'farcall'`
 * resolves there from any folder under `<root>`. Built once per process.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repo = fileURLToPath(new URL('../', import.meta.url));
/** tsx's command line, as `npx tsx` runs it. */
export const tsxCli = join(repo, 'node_modules/tsx/dist/cli.mjs');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

let built: Promise<string> | undefined;

/** The temporary root; removed when the process exits. */
export function builtPackage(): Promise<string> {
  return (built ??= build());
}

async function build(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'farcall-pkg-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const pkg = join(root, 'node_modules/farcall');
  mkdirSync(pkg, { recursive: true });
  for (const f of ['package.json', 'README.md']) copyFileSync(join(repo, f), join(pkg, f));
  await run(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: repo });
  return root;
}

/** Compiles the TypeScript under `root/src` into `root/js` as a user's strict project would; returns tsc's errors (empty when it compiled). */
export async function compile(root: string): Promise<string> {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      typeRoots: [join(repo, 'node_modules/@types')],
      strict: true,
      skipLibCheck: true,
      rootDir: 'src',
      outDir: 'js',
    },
    include: ['src'],
  };
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify(config));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module' }));
  try {
    await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--pretty', 'false'], { cwd: root });
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}
