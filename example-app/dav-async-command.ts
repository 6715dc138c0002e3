import type { v2 as webdav } from 'webdav-server';
import { writeDavRefusal } from './dav-refusal';

/**
 * Runs an async WebDAV command and then ends the exchange; a failure nobody expected is logged and answered
 * with 500 rather than left to hang the request.
 */
export function runDavCommand(
  method: string,
  ctx: webdav.HTTPRequestContext,
  command: Promise<void>,
  callback: () => void,
): void {
  command.then(callback, (error: unknown) => {
    console.error(`WebDAV ${method} failed:`, error);
    writeDavRefusal(ctx, 500, 'internal_error');
    callback();
  });
}
