import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  buildServer,
  REDACT,
  type ServerOptions,
  SqlitePostOffice,
  type SqlitePostOfficeOptions,
} from '@mailroom/server';
import { pino } from 'pino';

/**
 * A real mailroom server on port 0 over a SQLite file in a temp dir, with its log captured.
 * `office` sets its post office's clock and quotas (as `--hourly-limit` does for the CLI).
 */
export async function startServer(
  options: Partial<Omit<ServerOptions, 'postOffice' | 'logger'>> & {
    office?: Omit<SqlitePostOfficeOptions, 'path'>;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-server-'));
  const { office, ...serverOptions } = options;
  const path = join(dir, 'mail.db');
  const logLines: string[] = [];
  const logger = pino(
    { level: 'debug', redact: { paths: REDACT, censor: '[redacted]' } },
    new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  );
  const postOffice = new SqlitePostOffice({ ...office, path, logger });
  const app = buildServer({ postOffice, logger, ...serverOptions });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const headers = (key?: string) => ({
    'content-type': 'application/json',
    ...(key ? { 'x-api-key': key } : {}),
    ...(options.adminKey ? { 'x-admin-key': options.adminKey } : {}),
  });
  return {
    url,
    /** The SQLite file, for a second connection. */
    path,
    app,
    postOffice,
    logLines,
    /** Registers an agent over HTTP; returns its registration (with the API key). */
    async register(agentId: string) {
      const res = await fetch(`${url}/agents/register`, {
        method: 'POST',
        headers: headers(),
        body: JSON.stringify({ agent_id: agentId }),
      });
      if (res.status !== 201) throw new Error(`register ${agentId}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { agent_id: string; api_key: string; email_address: string };
    },
    /** A raw request with an API key. */
    request(path: string, init: RequestInit & { key?: string } = {}) {
      const { key, ...rest } = init;
      return fetch(`${url}${path}`, { ...rest, headers: { ...headers(key), ...(rest.headers as object) } });
    },
    async close() {
      await app.close();
      postOffice.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
