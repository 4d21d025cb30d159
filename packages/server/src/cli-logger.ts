import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { REDACT } from './app.js';

/** How the CLI writes its log: for people (`pretty`), or one JSON object a line (`json`). */
export type LogFormat = 'auto' | 'pretty' | 'json';

/**
 * The CLI's logger: pino, API keys redacted, pretty on a terminal (or when asked), JSON
 * otherwise. `fd` 1 for the server's log, 2 for the commands whose output is on stdout.
 */
export function cliLogger(options: { level: string; format: LogFormat; fd: 1 | 2 }): Logger {
  const tty = options.fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && tty === true);
  const base = {
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    hooks: {
      // Fastify says `Server listening at …` itself; the CLI says `listening on …` with the
      // database and the rest, so Fastify's line is left out.
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        if (typeof args[0] === 'string' && args[0].startsWith('Server listening at ')) return;
        method.apply(this, args);
      },
    },
  };
  if (!usePretty) return pino(base, pino.destination({ dest: options.fd, sync: true }));
  const stream: DestinationStream = pretty({
    destination: options.fd,
    sync: true,
    colorize: tty === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
  return pino(base, stream);
}
