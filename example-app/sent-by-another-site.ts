import type { Request } from 'express';

/**
 * Whether a browser marked the request as sent by another site, a sibling subdomain included (which may
 * plant cookies over HTTP). Other clients send neither header; a browser sends `Sec-Fetch-Site` (over
 * HTTPS), and `Origin` on every POST and cross-origin request (over HTTP too). Origins are compared by host
 * and port with the Host header (the scheme can differ behind a TLS-terminating proxy).
 */
export function sentByAnotherSite(req: Request): boolean {
  const site = req.get('Sec-Fetch-Site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.get('Origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.get('Host');
  } catch {
    return true; // `Origin: null` (a sandboxed or local page) included
  }
}
