import type { Response } from 'express';

/** Text made safe for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );
}

/** JSON for a `<script type="application/json">` data block: `<` escaped, so no `</script>` can end it early. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

// Only this site's own script and style run: no inline script, so an injected tag would do nothing.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface Page {
  title: string;
  /** Extra `<head>` content (already escaped). */
  head?: string;
  /** The `<body>` content (already escaped). */
  body: string;
}

/** Sends an HTML page with the headers every page of the settings area gets. */
export function sendPage(res: Response, status: number, page: Page): void {
  res
    .status(status)
    .set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Cache-Control': 'no-store',
      // No referrer for other sites; this one's: with `no-referrer` a form posts `Origin: null`, which the
      // sign-in must refuse (another site can send it too), so its own form would be refused as well.
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
    })
    .type('html')
    .send(
      `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} · personal-token-auth example</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/style.css">
${page.head ?? ''}
</head>
<body>
${page.body}
</body>
</html>
`,
    );
}
