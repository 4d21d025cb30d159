import { ValidationError } from '@mailroom/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

// What the server checks about a request before any route runs: JSON it can store, path ids of
// a sane length, methods a path has.

/** Deepest JSON body accepted (a send body is 2 levels deep; a profile a few more). */
export const MAX_JSON_DEPTH = 16;
/** Longest id in a path (`message_id`, `thread_id`); ids the server makes are far shorter. */
export const MAX_PATH_ID = 128;

/** Content-Security-Policy of the HTML pages: no script, no remote anything; inline style and SVG only. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * A ValidationError for a JSON body the server would not round-trip or could not walk: nested
 * deeper than {@link MAX_JSON_DEPTH}, or a string holding a NUL character (SQLite text stops at
 * one, so the sender's copy and the recipient's view would differ). Walked without recursion.
 */
export function bodyProblem(body: unknown): ValidationError | undefined {
  const stack: { value: unknown; loc: (string | number)[] }[] = [{ value: body, loc: [] }];
  while (stack.length > 0) {
    const { value, loc } = stack.pop() as { value: unknown; loc: (string | number)[] };
    if (typeof value === 'string') {
      if (value.includes('\u0000')) {
        return ValidationError.single(loc, 'must not contain the NUL character (\\u0000)', 'value_error.nul');
      }
    } else if (typeof value === 'object' && value !== null) {
      if (loc.length >= MAX_JSON_DEPTH) {
        return ValidationError.single(loc, `nested deeper than ${MAX_JSON_DEPTH} levels`, 'value_error.depth');
      }
      const entries: [string | number, unknown][] = Array.isArray(value)
        ? value.map((v, i) => [i, v])
        : Object.entries(value);
      for (const [k, v] of entries) {
        if (typeof k === 'string' && k.includes('\u0000')) {
          return ValidationError.single([...loc, k], 'must not contain the NUL character (\\u0000)', 'value_error.nul');
        }
        stack.push({ value: v, loc: [...loc, k] });
      }
    }
  }
  return undefined;
}

/** 414 in the API's error shape for a path id longer than any id can be (after authentication). */
export async function rejectLongIds(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const params = req.params as Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(params ?? {})) {
    if (typeof value === 'string' && value.length > MAX_PATH_ID) {
      await reply.code(414).send({ detail: `${name} is longer than ${MAX_PATH_ID} characters` });
      return;
    }
  }
}

/**
 * Records every route, so that a path with other methods answers 405 (with `Allow`) rather than
 * 404. Call before the routes are declared; use the returned function in the not-found handler.
 */
export function methodsOfPaths(
  onRoute: (hook: (route: { method: string | string[]; url: string }) => void) => void,
): (path: string) => string[] {
  const routes: { pattern: RegExp; method: string }[] = [];
  onRoute((route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`);
    for (const method of methods) routes.push({ pattern, method: String(method) });
  });
  return (path) => [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
}
