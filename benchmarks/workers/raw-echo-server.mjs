// A raw length-prefixed echo server on a Unix socket: what farcall's socket
// rides on, minus farcall. It parses each frame (4-byte length + body) and
// writes each one back, with the replies of one tick leaving in one writev.
import net from 'node:net';
const path = process.argv[2];
const server = net.createServer((s) => {
  s.setNoDelay(true);
  // Chunks are kept until a whole frame is there, so a 64 MiB frame is joined once, not per chunk.
  let chunks = [];
  let have = 0;
  let replies = [];
  const flush = () => {
    const out = replies;
    replies = [];
    s.cork();
    for (const r of out) s.write(r);
    s.uncork();
  };
  s.on('data', (chunk) => {
    chunks.push(chunk);
    have += chunk.length;
    if (have < 4) return;
    let head = chunks[0].length >= 4 ? chunks[0] : Buffer.concat(chunks);
    if (have < 4 + head.readUInt32LE(0)) return;
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    let at = 0;
    while (all.length - at >= 4) {
      const end = at + 4 + all.readUInt32LE(at);
      if (end > all.length) break;
      if (replies.length === 0) queueMicrotask(flush);
      replies.push(all.subarray(at, end));
      at = end;
    }
    const rest = all.subarray(at);
    chunks = rest.length ? [rest] : [];
    have = rest.length;
  });
});
server.listen(path, () => console.log('ready'));
