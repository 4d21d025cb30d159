/**
 * The Agent Email API on Fastify (`buildServer`) and its post offices (SQLite, PostgreSQL).
 * @module @mailroom/server
 */
export { type AccountAdmin, AccountList, AccountListQuery, AccountSummary, hasAccountAdmin } from './accounts.js';
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
export {
  type App,
  type DocumentedRoute,
  type ExtraStatus,
  type RouteAuth,
  RouteBook,
  type RouteInput,
  type RouteSpec,
} from './routes.js';
export { SqlitePostOffice, type SqlitePostOfficeOptions } from './sqlite-post-office.js';
export type { Durability } from './sqlite-store.js';
