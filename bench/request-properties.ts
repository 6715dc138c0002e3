// Why the middleware sets only `req.user` and `req.authInfo`: what adding properties to an Express
// request costs. Express gives every request its app's prototype (Object.setPrototypeOf), and V8
// caches no hidden-class transition for such an object: every new property makes a new hidden
// class, copying the descriptors of all the others. Passport's initialize() + authenticate() add
// about eight. Run: npx tsx bench/request-properties.ts
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';

const app = express();
const socket = new Socket();
const ROUNDS = 200_000;

function request(): Record<string, unknown> {
  const req = new IncomingMessage(socket) as unknown as Record<string, unknown>;
  Object.setPrototypeOf(req, app.request);
  return req;
}

function plain(): Record<string, unknown> {
  return new IncomingMessage(socket) as unknown as Record<string, unknown>;
}

function microseconds(make: () => Record<string, unknown>, properties: number): number {
  const names = Array.from({ length: properties }, (_, i) => `added${i}`);
  const run = () => {
    const req = make();
    for (const name of names) req[name] = name;
    return req;
  };
  for (let i = 0; i < 20_000; i++) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) run();
  return Number(process.hrtime.bigint() - start) / ROUNDS / 1000;
}

console.log('µs per request object, with n properties added after it was made:');
console.log('n   Express request (prototype set)   plain IncomingMessage');
for (const n of [0, 2, 8]) {
  console.log(
    `${n}   ${microseconds(request, n).toFixed(2).padStart(31)}   ${microseconds(plain, n).toFixed(2).padStart(21)}`,
  );
}
