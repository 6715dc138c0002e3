import type { v2 as webdav } from 'webdav-server';

/** Sets a refusal's status and a short JSON body naming the reason; the caller then ends the exchange. */
export function writeDavRefusal(ctx: webdav.HTTPRequestContext, status: number, error: string): void {
  ctx.setCode(status);
  ctx.response.setHeader('Content-Type', 'application/json; charset=utf-8');
  ctx.response.write(JSON.stringify({ error }));
}
