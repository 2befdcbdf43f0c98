// A baseline for the echo and idle benchmarks: Node's `ws`, the fastest WebSocket stack measured on these machines,
// with an echo and nothing else. Usage: node --expose-gc echo.mjs <port>. SIGUSR2 runs a full GC (for the idle
// benchmark's memory reading, as the .NET servers are asked through their diagnostics port).
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
const server = http.createServer((request, response) => {
  response.statusCode = request.url === '/healthz' ? 200 : 426;
  response.end(request.url === '/healthz' ? 'Healthy' : '');
});
const sockets = new WebSocketServer({ server, perMessageDeflate: false });
sockets.on('connection', socket => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});
process.on('SIGUSR2', () => globalThis.gc?.());
server.listen(port, '127.0.0.1');
