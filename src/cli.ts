#!/usr/bin/env node
/**
 * The `farcall` command. Commands live in a table; each has a summary for
 * the overview and its own --help.
 */
import { readFileSync } from 'node:fs';
import { BENCH_SUMMARY, UsageError, bench } from './bench/command.ts';
import { CALL_SUMMARY, LS_SUMMARY, call, ls } from './services/cli-services.ts';
import { STATS_SUMMARY, stats } from './services/cli-stats.ts';
import { TOP_SUMMARY, top } from './services/cli-top.ts';

interface Command {
  summary: string;
  run(args: string[], version: string): Promise<number>;
}

const commands: Record<string, Command> = {
  bench: { summary: BENCH_SUMMARY, run: bench },
  ls: {
    summary: `${LS_SUMMARY} (or on a NATS cluster: --nats URL)`,
    // The NATS client is loaded only when asked for.
    run: async (args) =>
      args.some((a) => a === '--nats' || a.startsWith('--nats=')) ? (await import('./services/nats/ls.ts')).lsNats(args, (m) => new UsageError(m)) : ls(args),
  },
  call: { summary: CALL_SUMMARY, run: call },
  stats: { summary: STATS_SUMMARY, run: stats },
  top: { summary: TOP_SUMMARY, run: top },
};

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function help(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length)) + 4;
  return `farcall ${version}: one typed procedure-call API over worker threads, child processes and sockets

Usage: farcall <command> [options]

Commands:
${names.map((n) => `  ${n.padEnd(width)}${commands[n]!.summary}`).join('\n')}

Options:
  -h, --help     show this help; farcall <command> --help shows a command's options
  -v, --version  print the version

Example: npx farcall bench --quick`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(help() + '\n');
    return 2;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(version + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(commands).join(', ')}`, { cause: 'top' });
  return command.run(rest, version);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    const command = err.cause === 'top' ? '' : ` ${process.argv[2]}`;
    process.stderr.write(`farcall${command}: ${err.message}\nRun 'farcall${command} --help' for the options.\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`farcall: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
