import { isIP } from 'node:net';

/** The text if it is an IP address, else undefined. */
export function addressOrUndefined(text: string | undefined): string | undefined {
  return text !== undefined && isIP(text) !== 0 ? text : undefined;
}

/**
 * The client's IP address for events and throttling, or undefined when the request has none that
 * is an address. Behind `trust proxy`, `req.ip` is whatever the client put in `X-Forwarded-For`
 * (Express does not check its form), so it may hold any text, even a token: only an address is
 * ever reported or used as a key.
 */
export function clientIp(req: { ip?: string | undefined }): string | undefined {
  return addressOrUndefined(req.ip);
}
