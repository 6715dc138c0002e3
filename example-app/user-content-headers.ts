import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';

// Types a browser only ever displays: no script, no markup that could hold script, no plugin.
const PASSIVE_EXTENSIONS = new Set(['.txt', '.png', '.jpg', '.jpeg', '.gif', '.webp']);

/**
 * Headers for a response that carries a file a user uploaded, so that the file never runs as script in the
 * app's origin (which holds the settings page, its session and its CSRF token): a sandbox (an opaque origin,
 * no script) whatever the browser makes of it, no MIME sniffing, and a download instead of a page for every
 * type not known to be passive (HTML, SVG, XML, JavaScript, and anything unknown).
 */
export function setUserContentHeaders(res: ServerResponse, fileName: string): void {
  res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (!PASSIVE_EXTENSIONS.has(extname(fileName).toLowerCase()))
    res.setHeader('Content-Disposition', 'attachment');
}
