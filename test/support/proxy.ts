import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request: pass it on, answer 503 itself, or pass it on and lose the answer. */
export type ProxyAction = 'pass' | '503' | 'lose-answer';

/**
 * A real HTTP proxy on port 0 in front of `target` that does to each request what `decide` says
 * (given the request and how many requests with the same method and path came before it).
 */
export async function startProxy(target: string, decide: (req: IncomingMessage, seen: number) => ProxyAction) {
  const upstream = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method} ${req.url?.split('?')[0]}`;
    const seen = counts.get(key) ?? 0;
    counts.set(key, seen + 1);
    const action = decide(req, seen);
    if (action === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"detail":"injected"}');
      return;
    }
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        if (action === 'lose-answer') {
          // The server did the work; its answer never reaches the client.
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
