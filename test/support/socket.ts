import { connect, type Socket } from 'node:net';

/** A raw TCP connection to an HTTP server on loopback: writes what it is told, records all it gets. */
export async function openSocket(url: string): Promise<{
  socket: Socket;
  /**
   * Everything received until the server closed the connection. Rejects after `limitMs`: a guard
   * that names what came when the server never closes, not a claim on how fast it does (a loaded
   * machine may take seconds). @default 20000
   */
  closed(limitMs?: number): Promise<string>;
}> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  let ended = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (d) => {
      received += d;
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      ended = true;
      resolve();
    });
  });
  return {
    socket,
    async closed(limitMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms; got: ${received}`)), limitMs);
      });
      try {
        await Promise.race([done, limit]);
      } finally {
        clearTimeout(timer);
        if (!ended) socket.destroy();
      }
      return received;
    },
  };
}
