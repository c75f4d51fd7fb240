// The raw socket copy the 64 KiB chunk stream is measured beside: per connection, read "n size\n",
// then stream.pipeline n fresh chunks of `size` bytes into the socket.
import net from 'node:net';
import { Readable, pipeline } from 'node:stream';

const server = net.createServer((sock) => {
  sock.once('data', (line) => {
    const [n, size] = String(line).trim().split(' ').map(Number);
    function* chunks() {
      for (let i = 0; i < n; i++) yield Buffer.allocUnsafe(size);
    }
    pipeline(Readable.from(chunks()), sock, () => {});
  });
});
server.listen(process.argv[2], () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
