export { buildServer, LONG_POLL_HEADER, REDACT, type ServerOptions } from './app.js';
export { openApiDocument } from './openapi.js';
export { SqlitePostOffice, type SqlitePostOfficeOptions } from './sqlite-post-office.js';
