export { SqlitePostOffice, type SqlitePostOfficeOptions } from './sqlite-post-office.js';
