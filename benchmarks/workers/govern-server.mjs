// A server of farcall's build (or the copy argv[4] names) serving add() on argv[2], with metrics or auth when argv[3] says so.
const { listen } = await import(process.argv[4] ?? '../../dist/index.js');
const options = { metrics: { metrics: true }, auth: { auth: { secret: 'a benchmark secret, 32 bytes long' } } }[process.argv[3]] ?? {};
const server = await listen({ add: (a, b) => a + b }, process.argv[2], options);
console.log('ready');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
