// A raw length-prefixed echo server on a Unix socket: what farcall's socket
// rides on, minus farcall. It parses each frame (4-byte length + body) and
// writes each one back, with the replies of one tick leaving in one writev.
import net from 'node:net';
const path = process.argv[2];
const server = net.createServer((s) => {
  s.setNoDelay(true);
  let pending = Buffer.alloc(0);
  let replies = [];
  const flush = () => {
    const out = replies;
    replies = [];
    s.cork();
    for (const r of out) s.write(r);
    s.uncork();
  };
  s.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (pending.length - at >= 4) {
      const end = at + 4 + pending.readUInt32LE(at);
      if (end > pending.length) break;
      if (replies.length === 0) queueMicrotask(flush);
      replies.push(pending.subarray(at, end));
      at = end;
    }
    pending = pending.subarray(at);
  });
});
server.listen(path, () => console.log('ready'));
