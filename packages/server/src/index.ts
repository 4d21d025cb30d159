/**
 * The Agent Email API on Fastify (`buildServer`) and its post offices (SQLite, PostgreSQL).
 * @module @mailroom/server
 */
export { buildServer, LONG_POLL_HEADER, REDACT, type ServerOptions } from './app.js';
export { openApiDocument } from './openapi.js';
export {
  type PGliteLike,
  PgDatabaseOptions,
  pgDatabase,
  pgliteDatabase,
  type SqlDatabase,
  type SqlSession,
} from './postgres/database.js';
export { PostgresPostOfficeOptions } from './postgres/options.js';
export { PostgresPostOffice } from './postgres/postgres-post-office.js';
export { SqlitePostOffice, type SqlitePostOfficeOptions } from './sqlite-post-office.js';
export type { Durability } from './sqlite-store.js';
