/**
 * The entry of a child process started by `spawn()` or a process pool: it
 * loads the user's module and serves it to the parent over the pipe on
 * fd 3. The module's exports are the API unless the module calls
 * `expose()` itself.
 */
import net from 'node:net';
import { encodeThrown } from './codec/error.ts';
import { setDefaultExposer } from './endpoint.ts';
import { attachToPool, POOL_MEMBER_FLAG, type PoolSide } from './pool/control.ts';
import { MsgType } from './protocol.ts';
import { Peer } from './rpc/peer.ts';
import { createRemote } from './rpc/remote.ts';
import { StreamTransport } from './transport/stream.ts';

const CHANNEL_FD = 3;

// The user's module sees its own arguments at argv[2...], as if run directly.
const poolMember = process.argv[2] === POOL_MEMBER_FLAG;
if (poolMember) process.argv.splice(2, 1);
const [moduleHref] = process.argv.splice(2, 1);
let peer: Peer | undefined;
let exposed: { value: unknown } | undefined;
setDefaultExposer((value) => {
  exposed = { value };
  peer?.expose(value);
});

const ns = (await import(moduleHref!)) as Record<string, unknown>;

// The hello goes out only now, so the parent's spawn() resolves once the module is loaded.
const channel = new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true });
const transport = new StreamTransport(channel, channel, { label: 'parent process' });
peer = new Peer(transport);
peer.expose(exposed ? exposed.value : { ...ns });
if (poolMember) attachToPool(createRemote<PoolSide>(peer, 0));

// No orphans: when the parent closes the channel or dies, this process ends too.
peer.onClose(() => process.exit(0));
process.on('uncaughtExceptionMonitor', (err) => transport.sayLastWords(CHANNEL_FD, { t: MsgType.Bye, e: encodeThrown(err) }));
