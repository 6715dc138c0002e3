import type { v2 as webdav } from 'webdav-server';

/** Answers a WebDAV request with an XML document; the caller then ends the exchange. */
export function writeDavXml(ctx: webdav.HTTPRequestContext, status: number, body: string): void {
  ctx.setCode(status);
  ctx.response.setHeader('Content-Type', 'application/xml; charset=utf-8');
  ctx.response.write(`<?xml version="1.0" encoding="utf-8"?>\n${body}`);
}
