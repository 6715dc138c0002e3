#!/usr/bin/env node
// The `personal-token` executable: a thin shell around runCli(), which does all the work.
import { runCli } from './program';

// `personal-token list | head -1` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', () => {});

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  // Only `scan -` reads it: the stream is made when asked for, not for every command.
  get stdin() {
    return process.stdin;
  },
}).then((exitCode) => {
  // Exit explicitly once the output is flushed: a store built by a config file may hold a Redis
  // connection open that the CLI does not own and cannot close.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(exitCode)));
});
