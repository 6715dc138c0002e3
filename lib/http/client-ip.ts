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

// The longest text form of an IPv6 address (with an IPv4 tail), without a zone.
const MAX_ADDRESS_LENGTH = 45;

/**
 * The text if it is an address to store with a token's use, else undefined: an IPv4 or IPv6
 * address of bounded length, without an IPv6 zone (`%eth0`), which `isIP` accepts with any text.
 */
export function recordableAddress(text: string | undefined): string | undefined {
  return text !== undefined && text.length <= MAX_ADDRESS_LENGTH && !text.includes('%') && isIP(text) !== 0
    ? text
    : undefined;
}
