/**
 * The peer of the fan-out benchmark: a bare `ws` server (defaults, as a hand-written broadcast
 * would use it) that sends one prepared message of the same size as Patchbay's to every socket
 * per event. No GraphQL, no database: the floor of what a Node WebSocket broadcast costs.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { cpuMicros, memoryAfterGc, nowMs, serveCommands } from './process-stats.js';

const server = createServer();
const wss = new WebSocketServer({ server, path: '/graphql' });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address() as { port: number };

let seq = 0;
/** A graphql-ws `next` message padded to `bytes`, so clients parse the same shape and size. */
function message(bytes: number): string {
  seq += 1;
  const head = `{"id":"1","type":"next","payload":{"data":{"seq":${seq},"pad":"`;
  const tail = '"}}}';
  return head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

serveCommands(async (command) => {
  switch (command.type) {
    case 'cpu':
      return { cpuMicros: cpuMicros() };
    case 'mark':
      return { memory: await memoryAfterGc() };
    case 'subscribers':
      return { count: wss.clients.size };
    case 'event': {
      const sentAt = nowMs();
      const data = message(command.payloadBytes ?? 1000);
      for (const socket of wss.clients) socket.send(data);
      return { sentAt };
    }
    default:
      return {};
  }
});
process.send!({ type: 'ready', url: `http://127.0.0.1:${address.port}`, tokens: [] });
process.on('disconnect', () => {
  wss.close();
  server.close();
  process.exit(0);
});
