// Server 11 (optional): forward auth's own share, `forwardAuth()` answering the sub-request a reverse
// proxy sends (nginx `auth_request`, Caddy `forward_auth`), loaded directly as the proxy would call it:
// the token and `X-Original-Method` / `X-Original-URI`. Answers 200 with the identity headers.
import express from 'express';
import { Redis } from 'ioredis';
import { forwardAuth, TokenService } from 'personal-token-auth';
import { RedisTokenStore } from 'personal-token-auth/adapters/redis';
import { ROUTE, serve, storeAddress } from './serve';

const redis = new Redis(storeAddress('REDIS_URL'));
const app = express();
app.use(ROUTE, forwardAuth({ tokens: new TokenService({ store: new RedisTokenStore(redis) }) }));

serve(app, redis.ping());
