/** The dashboard's Content-Security-Policy: nothing but this server's own files; no inline script or style. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The headers of every dashboard answer (pages, assets, errors, live updates). */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: Chromium then sends `Origin: null` with a form, and the Origin check refuses it.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};
