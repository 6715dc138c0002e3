// Server 10 (`--with-baselines`): the library's check written by hand in one function, with none of
// the library around it: the token's shape and CRC, SHA-256 of secret + terms, the id against the
// hash, one `GETEX … PX` from the terms the token carries, the stored hash compared, two properties
// set. No deadline, no events, no scopes, no resolveUser, no Basic: what this design costs at least.
import { hash as digest } from 'node:crypto';
import { crc32 } from 'node:zlib';
import express from 'express';
import { ROUTE } from '../keys';
import { benchRedis, serve } from './serve';

const redis = benchRedis();
const PREFIX = 'pat_';
// prefix + 16 hex id + 43 secret + 8 window + 9 hard limit (base36) + 6 base62 checksum
const TOKEN = /^pat_[0-9a-f]{16}[A-Za-z0-9_-]{43}[0-9a-z]{17}[0-9A-Za-z]{6}$/;

function base62(text: string, from: number): number {
  let value = 0;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    value = value * 62 + (code <= 57 ? code - 48 : code <= 90 ? code - 55 : code - 61);
  }
  return value;
}

function refuse(res: express.Response): void {
  res.status(401).json({ error: 'invalid_token' });
}

const app = express();
app.get(
  ROUTE,
  (req, res, next) => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : '';
    if (!TOKEN.test(token) || crc32(token.slice(0, -6)) !== base62(token, token.length - 6))
      return refuse(res);
    const tail = token.slice(PREFIX.length + 16, -6);
    const hash = digest('sha256', tail, 'hex');
    if (!token.startsWith(hash.slice(0, 16), PREFIX.length)) return refuse(res);
    const window = Number.parseInt(tail.slice(43, 51), 36);
    const hard = Number.parseInt(tail.slice(51), 36) || Number.POSITIVE_INFINITY;
    const now = Date.now();
    redis.getex(`pat:t:{${hash.slice(0, 16)}}`, 'PX', Math.min(window, hard - now)).then((value) => {
      if (value === null) return refuse(res);
      const fields = value.split('\t');
      if (fields[0] !== 'T') return refuse(res);
      let difference = fields[1]!.length ^ hash.length;
      for (let i = 0; i < hash.length; i++) difference |= hash.charCodeAt(i) ^ fields[1]!.charCodeAt(i);
      if (difference !== 0) return refuse(res);
      req.user = { login: fields[2] };
      req.authInfo = { login: fields[2] };
      next();
    }, next);
  },
  (req, res) => {
    res.json({ user: (req.authInfo as { login: string }).login });
  },
);

serve(app, redis);
