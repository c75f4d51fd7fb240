/**
 * The entry of a child process started by `spawn()` or a process pool: it
 * loads the user's module and serves it to the parent over the pipe on
 * fd 3. The module's exports are the API unless the module calls
 * `expose()` itself.
 */
import { writeSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeThrown } from './codec/error.ts';
import { setDefaultExposer } from './endpoint.ts';
import { attachToPool, POOL_MEMBER_FLAG, type PoolSide } from './pool/control.ts';
import { MsgType } from './protocol.ts';
import { Peer } from './rpc/peer.ts';
import { createRemote } from './rpc/remote.ts';
import { CHILD_LIMITS_ENV } from './transport/child.ts';
import { StreamTransport, failedHello, type StreamLimits } from './transport/stream.ts';

const CHANNEL_FD = 3;

function chdir(dir: string): void {
  try {
    process.chdir(dir);
  } catch (err) {
    throw new Error(`cannot use ${dir} as its cwd: ${(err as Error).message}`, { cause: err });
  }
}

// The user's module sees its own arguments at argv[2...] and its own path
// at argv[1], as if run directly.
const poolMember = process.argv[2] === POOL_MEMBER_FLAG;
// Read before the user's module loads, so it never sees it in its environment.
const limits = JSON.parse(process.env[CHILD_LIMITS_ENV] ?? '{}') as StreamLimits;
delete process.env[CHILD_LIMITS_ENV];
if (poolMember) process.argv.splice(2, 1);
const [moduleHref, cwd] = process.argv.splice(2, 2);
if (moduleHref!.startsWith('file:')) process.argv[1] = fileURLToPath(moduleHref!);
let peer: Peer | undefined;
let transport: StreamTransport | undefined;
let exposed: { value: unknown } | undefined;
setDefaultExposer((value) => {
  exposed = { value };
  peer?.expose(value);
});

/**
 * Tells the parent why this process is about to die. Before the module has
 * loaded that takes the place of the hello, so spawn() rejects with the
 * module's own error rather than a bare exit code.
 */
function lastWords(err: unknown): void {
  if (transport) transport.sayLastWords(CHANNEL_FD, { t: MsgType.Bye, e: encodeThrown(err) });
  else writeSync(CHANNEL_FD, failedHello(err));
}
process.on('uncaughtExceptionMonitor', lastWords);

let ns: Record<string, unknown>;
try {
  if (cwd) chdir(cwd);
  ns = (await import(moduleHref!)) as Record<string, unknown>;
} catch (err) {
  lastWords(err);
  // The parent has the error; printing it here too would say it twice.
  process.exit(1);
}

// The hello goes out only now, so the parent's spawn() resolves once the module is loaded.
const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
transport = new StreamTransport(channel, channel, { label: 'parent process', ...limits });
peer = new Peer(transport);
peer.expose(exposed ? exposed.value : { ...ns });
if (poolMember) attachToPool(createRemote<PoolSide>(peer, 0));

// No orphans: when the parent closes the channel or dies, this process ends too.
peer.onClose(() => process.exit(0));
