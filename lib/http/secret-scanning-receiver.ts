import { createHash, verify } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { MAX_TIMER_MS, parseDuration } from '../duration';
import type { LeakVerdict } from '../manage/leak-source';
import { TokenService } from '../manage/token-service';
import { checkOptions, optionNames } from '../option-names';
import { bodyLimitOption, mountPostEndpoint, rawBody } from './post-endpoint';
import {
  MAX_KEY_IDENTIFIER,
  SecretScanningKeys,
  type SecretScanningPublicKeys,
} from './secret-scanning-keys';

/**
 * Receives GitHub's secret-scanning partner alerts: GitHub finds text in this service's token format
 * in a public repository, gist, issue or npm package and posts it here, signed; each live token is
 * revoked (`TokenService.revokeLeaked`, with the alert's URL as the source) and GitHub is told which
 * were real. Nothing is done for an alert whose signature does not verify.
 */
export interface SecretScanningReceiverOptions {
  /** The service whose tokens GitHub reports. */
  tokens: TokenService;
  /**
   * The keys alerts are signed with: a map of identifier → PEM, or a function fetching GitHub's key
   * list from `https://api.github.com/meta/public_keys/secret_scanning` (see docs/leaks.md).
   */
  publicKeys: SecretScanningPublicKeys;
  /** How long a fetched key list is used before it is fetched again, `'1h'` or ms. Default 1 hour. */
  keyTtl?: string | number;
  /** The least time between two fetches of the key list, `'1m'` or ms. Default 1 minute. */
  refetchInterval?: string | number;
  /**
   * How long a fetch of the key list may take, `'10s'` or ms; past it the fetch counts as failed
   * (the keys fetched before stay in use; an alert naming none of them gets 503). Default 10 seconds.
   */
  keyFetchTimeout?: string | number;
  /** Largest alert accepted, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** The most matches one alert may hold. Default 1000. */
  maxMatches?: number;
  /** Seconds in the `Retry-After` of a 503 (the store, or the key list, unavailable). Default 1. */
  retryAfter?: number;
}

const OPTION_NAMES = optionNames<SecretScanningReceiverOptions>({
  tokens: true,
  publicKeys: true,
  keyTtl: true,
  refetchInterval: true,
  keyFetchTimeout: true,
  bodyLimit: true,
  maxMatches: true,
  retryAfter: true,
});

/** The path the receiver answers at. */
export const SECRET_SCANNING_PATH = '/secret-scanning';

/** What GitHub is told of each match: its SHA-256 (hex), never the token. */
export interface SecretScanningLabel {
  token_hash: string;
  token_type: string;
  label: 'true_positive' | 'false_positive';
}

/** One match of an alert, as read (GitHub's keys; others are ignored). */
interface Match {
  token: string;
  type: string;
  url: string;
  source: string | undefined;
}

// Bounds on each field of a match: a token of any service fits, and a long URL.
const MAX_TOKEN = 1024;
const MAX_TYPE = 256;
const MAX_URL = 8192;
// A base64 DER ECDSA P-256 signature is at most 96 characters.
const SIGNATURE = /^[A-Za-z0-9+/]{1,200}={0,2}$/;
// How many matches are looked up at once: a large alert ends well within GitHub's timeout
// without one alert taking every store connection.
const CONCURRENCY = 8;
const LABEL: Record<LeakVerdict, SecretScanningLabel['label']> = {
  revoked: 'true_positive',
  'already-revoked': 'true_positive',
  unknown: 'false_positive',
};

/** Express router for GitHub's secret-scanning alerts at `POST /secret-scanning` (see the options). */
export function secretScanningReceiver(options: SecretScanningReceiverOptions): Router {
  checkOptions('secretScanningReceiver', options, OPTION_NAMES);
  const { tokens } = options;
  if (!(tokens instanceof TokenService)) {
    throw new TypeError('secretScanningReceiver needs { tokens: TokenService }');
  }
  const bodyLimit = bodyLimitOption('secretScanningReceiver', options.bodyLimit ?? 1024 * 1024);
  const maxMatches = options.maxMatches ?? 1000;
  if (!Number.isSafeInteger(maxMatches) || maxMatches < 1) {
    throw new TypeError('secretScanningReceiver: maxMatches must be a whole number of at least 1');
  }
  const retryAfter = String(options.retryAfter ?? 1);
  const fetchTimeout = parseDuration(options.keyFetchTimeout ?? '10s');
  if (fetchTimeout > MAX_TIMER_MS) {
    throw new TypeError('secretScanningReceiver: keyFetchTimeout must be at most 24 days');
  }
  const keys = new SecretScanningKeys(options.publicKeys, {
    now: () => tokens.now(),
    ttl: parseDuration(options.keyTtl ?? '1h'),
    refetchInterval: parseDuration(options.refetchInterval ?? '1m'),
    fetchTimeout,
  });

  async function receive(req: Request, res: Response): Promise<void> {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signed = await verifySignature(req, body);
    if (signed === 'unavailable') {
      res.status(503).set('Retry-After', retryAfter).json({ error: 'temporarily_unavailable' });
      return;
    }
    if (!signed) {
      res.status(401).json({ error: 'invalid_signature' });
      return;
    }
    const matches = readMatches(body, maxMatches);
    if (matches === undefined) {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    // One lookup per distinct token, however often it appears; all of them read before any is revoked.
    const verdicts = new Map<string, LeakVerdict>();
    const distinct = new Map<string, Match>();
    for (const match of matches) if (!distinct.has(match.token)) distinct.set(match.token, match);
    await eachAtMost(CONCURRENCY, [...distinct.values()], async (match) => {
      verdicts.set(match.token, await tokens.revokeLeaked(match.token, { source: sourceOf(match) }));
    });
    const labels: SecretScanningLabel[] = matches.map((match) => ({
      token_hash: createHash('sha256').update(match.token, 'utf8').digest('hex'),
      token_type: match.type,
      label: LABEL[verdicts.get(match.token)!],
    }));
    res.status(200).json(labels);
  }

  /** Whether the alert is signed by one of GitHub's keys over these very bytes. */
  async function verifySignature(req: Request, body: Buffer): Promise<boolean | 'unavailable'> {
    const id = req.get('Github-Public-Key-Identifier');
    const signature = req.get('Github-Public-Key-Signature');
    if (!id || id.length > MAX_KEY_IDENTIFIER || !signature || !SIGNATURE.test(signature)) return false;
    const found = await keys.lookup(id);
    if ('unavailable' in found) return 'unavailable';
    if (!('key' in found)) return false;
    try {
      return verify('sha256', body, { key: found.key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }

  const express = loadExpress();
  const router = express.Router();
  mountPostEndpoint(
    router,
    SECRET_SCANNING_PATH,
    { body: rawBody(express, bodyLimit, 'application/json'), retryAfter },
    receive,
  );
  return router;
}

/**
 * The matches of a verified alert: a JSON array (UTF-8) of 1 to `max` objects, each with a `token`,
 * a `type` and a `url` (maybe empty) of bounded length, and maybe a `source`; undefined for anything
 * else, so that an alert is taken whole or not at all.
 */
function readMatches(body: Buffer, max: number): Match[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > max) return undefined;
  const matches: Match[] = [];
  for (const entry of parsed as unknown[]) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
    const { token, type, url, source } = entry as Record<string, unknown>;
    if (!text(token, 1, MAX_TOKEN) || !text(type, 0, MAX_TYPE) || !text(url, 0, MAX_URL)) return undefined;
    if (source !== undefined && !text(source, 0, MAX_TYPE)) return undefined;
    matches.push({ token, type, url, source });
  }
  return matches;
}

const text = (value: unknown, min: number, max: number): value is string =>
  typeof value === 'string' && value.length >= min && value.length <= max;

/** Where a match was found, for the `leaked` event: its URL, or, without one, what GitHub saw. */
function sourceOf(match: Match): string {
  if (match.url !== '') return match.url;
  return `GitHub secret scanning (${match.source ?? 'unknown'})`;
}

/** Runs `work` on every item, at most `limit` at a time; rejects with the first failure, after all settled. */
async function eachAtMost<T>(
  limit: number,
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** Express is loaded when a router is made, not when the package is (see tokenRouter). */
function loadExpress(): typeof import('express') {
  return require('express');
}
