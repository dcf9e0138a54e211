/**
 * The subscribers of the fan-out benchmark, in a process of their own (as a fleet of dashboards
 * would be): SUBSCRIBERS sockets to the server under test, one subscription each. `patchbay`
 * mode speaks graphql-transport-ws over plain `ws` sockets, subscribed to connectionStatusChanged
 * (BENCH_CLIENT=graphql-ws: graphql-ws's own client); `bare` mode runs plain `ws` sockets that
 * parse each message. Both offer permessage-deflate (ws's client default, as
 * browsers do); the server decides. For each event it reports when the first and the last
 * subscriber had it.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { nowMs } from './process-stats.js';

const mode = process.env.BENCH_MODE as 'patchbay' | 'bare';
const url = process.env.BENCH_URL!.replace(/^http/, 'ws') + '/graphql';
const tokens = JSON.parse(process.env.BENCH_TOKENS_JSON ?? '[]') as string[];
const subscribers = Number(process.env.BENCH_SUBSCRIBERS);
const BATCH = 100;

export const STATUS_DOCUMENT = `subscription Status { connectionStatusChanged {
  cursor previousStatus status reason occurredAt
  connection { id name status owner { name } integration { key name } problem { reason interpretation resolution } viewerCan { use edit revoke } }
} }`;

const arrivals: { count: number; first: number; last: number }[] = [];
let messageBytes = 0;
let extensions = '';

function arrived(event: number): void {
  const at = nowMs();
  const slot = (arrivals[event] ??= { count: 0, first: at, last: at });
  slot.count += 1;
  slot.last = at;
  if (slot.count === subscribers) process.send!({ type: 'delivered', event, first: slot.first, last: slot.last, messageBytes, extensions });
}

/** ws, recording the size of the first message and what extensions the server agreed to. */
class MeasuredWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols);
    this.once('open', () => (extensions = this.extensions));
    this.on('message', (data: Buffer) => {
      if (messageBytes === 0 && data.length > 100) messageBytes = data.length;
    });
  }
}

async function openPatchbay(i: number): Promise<Client> {
  let received = 0;
  return new Promise((resolve, reject) => {
    const client = createClient({
      url,
      webSocketImpl: MeasuredWebSocket,
      connectionParams: { authorization: `Bearer ${tokens[i % tokens.length]}` },
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: reject,
      on: {
        connected: () => resolve(client),
        closed: (event) => {
          if (!stopping) process.send!({ type: 'closed', code: (event as { code: number }).code });
        },
      },
    });
    client.subscribe(
      { query: STATUS_DOCUMENT },
      { next: () => arrived((received += 1)), error: (error) => process.send!({ type: 'error', error: String(error) }), complete: () => {} },
    );
  });
}

/**
 * graphql-transport-ws spoken directly over a plain `ws` socket (init, subscribe, parse each
 * message): the same per-message client work as the bare peer's clients, so the last-client
 * latency compares the servers rather than the client libraries. BENCH_CLIENT=graphql-ws uses
 * graphql-ws's own client instead.
 */
async function openProtocol(i: number): Promise<WebSocket> {
  let received = 0;
  return new Promise((resolve, reject) => {
    const socket = new MeasuredWebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens[i % tokens.length]}` } })));
    socket.on('error', reject);
    socket.on('close', (code) => {
      reject(new Error(`closed ${code}`));
      if (!stopping) process.send!({ type: 'closed', code });
    });
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { type: string };
      if (message.type === 'next') arrived((received += 1));
      else if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: STATUS_DOCUMENT } }));
        resolve(socket);
      } else if (message.type === 'ping') socket.send('{"type":"pong"}');
    });
  });
}

async function openBare(): Promise<WebSocket> {
  let received = 0;
  return new Promise((resolve, reject) => {
    const socket = new MeasuredWebSocket(url, 'graphql-transport-ws');
    socket.on('open', () => resolve(socket));
    socket.on('error', reject);
    socket.on('message', (data: Buffer) => {
      JSON.parse(data.toString('utf8'));
      arrived((received += 1));
    });
  });
}

let stopping = false;
const opened: { close(): void }[] = [];
for (let start = 0; start < subscribers; start += BATCH) {
  // A socket refused under load (e.g. 4408 when the init came late on a busy machine) is opened again.
  const open = async (i: number, attempt = 1): Promise<Client | WebSocket> => {
    try {
      if (mode === 'bare') return await openBare();
      return await (process.env.BENCH_CLIENT === 'graphql-ws' ? openPatchbay(i) : openProtocol(i));
    } catch (error) {
      if (attempt >= 5) throw error;
      return open(i, attempt + 1);
    }
  };
  const batch = [...Array(Math.min(BATCH, subscribers - start))].map((_, j) => open(start + j));
  for (const socket of await Promise.all(batch)) {
    opened.push(socket instanceof WebSocket ? socket : { close: () => void (socket as Client).dispose() });
  }
}
process.send!({ type: 'open', sockets: opened.length });
process.on('disconnect', () => {
  stopping = true;
  for (const socket of opened) socket.close();
  setTimeout(() => process.exit(0), 500);
});
