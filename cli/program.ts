import { extname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { INTROSPECTION_PATH } from '../lib/http/introspection-router';
import { tokenToJson } from '../lib/http/token-json';
import {
  createToken,
  inspectToken,
  listExpiringTokens,
  listTokens,
  parseCreateOptions,
  parseExpiringOptions,
  parseListOptions,
  parseRevokeOptions,
  parseRotateOptions,
  parseTokenId,
  revokeTokens,
  rotateToken,
} from './actions';
import { CONFIG_ENV, UnsafeConfigError } from './config';
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  isLibraryUsageError,
  isPolicyRefusal,
  isStoreUnavailable,
  messageOf,
  oneLine,
  UsageError,
} from './errors';
import { type GlobalOptions, type OpenedTokens, openTokens } from './open-tokens';
import { describeIssued, formatDetails, formatExpiringTable, formatJson, formatTable } from './output';
import type { RedisConnectionOptions } from './redis';
import { parseScanOptions, runScan } from './scan';
import {
  DEFAULT_LISTEN,
  INTROSPECTION_CLIENTS_ENV,
  parseServeAuthOptions,
  SERVE_AUTH_PATH,
  serveAuth,
} from './serve-auth';
import { isServeAuthWorker, MAX_WORKERS, superviseWorkers } from './serve-auth-workers';

/** Where the CLI writes and what it reads from its process: injectable, so the program can run in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** What `scan -` reads; without it, `-` is refused. */
  stdin?: AsyncIterable<Uint8Array>;
}

export const PROGRAM_NAME = 'personal-token';

const DURATIONS =
  'Durations: a whole number and a unit, s (seconds), m (minutes), h (hours) or d (days): 20s, 10m, 24h, 7d;\n' +
  'a bare whole number is milliseconds (600000 = 10m).';

/** Per run: which command a usage error belongs to, and what to close at the end. */
interface RunState {
  command: Command;
  opened?: OpenedTokens;
}

/** Runs one command line (without `node` and the script) and returns the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = new Command(PROGRAM_NAME);
  const state: RunState = { command: program };
  let exitCode = EXIT_OK;

  const open = async (command: Command, connection?: RedisConnectionOptions): Promise<OpenedTokens> => {
    // Which config runs, on stderr (stdout is for scripts); -q means nothing on stderr.
    const announce =
      command.opts().quiet === true ? undefined : (line: string) => io.stderr(`${PROGRAM_NAME}: ${line}\n`);
    state.opened = await openTokens(
      command.optsWithGlobals<GlobalOptions>(),
      io.env,
      io.cwd,
      connection,
      announce,
    );
    return state.opened;
  };

  program
    .description('Create, list, inspect and revoke the personal access tokens of personal-token-auth.')
    .usage(
      '[--redis <url>] [--prefix <prefix>] [--postgres [url]] [--config <file>] <create|list|expiring|inspect|revoke|rotate|scan> [options]',
    )
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--prefix <prefix>', 'Redis key prefix (default: pat:)')
    .option(
      '--postgres [url]',
      'PostgreSQL URL: tokens in its personal_tokens table instead of Redis (without a URL: $DATABASE_URL, ' +
        'which keeps a password out of the process list)',
    )
    .option(
      '--config <file>',
      'module exporting { store, resolveUser, canAccess, tokenPrefix } as the app uses them ' +
        `(default: $${CONFIG_ENV}, else personal-token.config.mjs or .js in the working directory if ` +
        'it and the directory are yours and writable by no one else)',
    )
    // `-h, --help` on every command, as the seed; no `help <command>` pseudo-command to go wrong.
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      // Errors are reported once, as one line, by report() below; commander's own writes would add more.
      writeErr: () => {},
      outputError: () => {},
    })
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  personal-token create -u admin -e 24h                 # hard limit\n' +
        '  personal-token create -u admin -a 10m                 # sliding window, refreshed on each use\n' +
        '  personal-token create -u admin -a 10m -e 30d -s node:3f2a:r -s node:77c1:rw -l "backup script" -q\n' +
        '  personal-token list -u admin [--json] [--limit 100 [--cursor <cursor>]]\n' +
        '  personal-token expiring --within 7d [--json]          # for expiry notices, every user\n' +
        '  personal-token inspect <id> [--json]                  # never refreshes a sliding token\n' +
        '  personal-token revoke <id>...\n' +
        '  personal-token revoke --user admin --all\n' +
        '  personal-token rotate <id> [--overlap 1h] [-q]        # same owner, scopes and hard limit\n' +
        '  personal-token scan [paths...] [--git-staged] [--sarif] # leaked tokens, no store needed\n\n' +
        'The config that runs is named on stderr (not with -q). One found in the working directory is refused\n' +
        `(exit 2) if someone else could have written it; --config or $${CONFIG_ENV} loads a file as asked.\n\n` +
        'Exit codes: 0 done, 1 refused or failed (unknown id or user, store unreachable...), 2 usage error.\n',
    )
    .hook('preSubcommand', (_program, subcommand) => {
      state.command = subcommand;
    });

  program
    .command('create')
    .summary('create a token (printed once, on stdout)')
    .description(
      'Create a personal access token for a user. Expiration is a hard limit (-e), a sliding window ' +
        'refreshed on each use (-a), or both (a sliding token that never outlives -e).',
    )
    .usage('-u <login> (-e <duration> | -a <duration>) [-s <scope>]... [-l <label>] [-q]')
    .option('-u, --user <login>', 'user login (mandatory)')
    .option('-e, --expire <duration>', 'expire after this duration (hard limit)')
    .option('-a, --auto <duration>', 'sliding expiry: valid this long after each use')
    .option(
      '-s, --scope <scope>',
      'restrict to node:<NODE_ID>:<r|w|rw>, or grant introspect (asking about other tokens, see ' +
        'serve-auth --introspection); repeatable, or comma-separated',
      collect,
    )
    .option('-l, --label <label>', 'a note saying what the token is for')
    .option(
      '-q, --quiet',
      'print the token alone, nothing on stderr (for TOKEN=$(personal-token create ... -q))',
    )
    .addHelpText(
      'after',
      `\n${DURATIONS}\nScopes narrow the user's own access to a node and everything below it; ` +
        'without -s the token has the full access of the user.\n\n' +
        'Examples:\n' +
        '  personal-token create -u admin -e 24h\n' +
        '  personal-token create -u admin -a 10m\n' +
        '  personal-token create -u admin -a 10m -e 30d -s node:3f2a:r -s node:77c1:rw -l "backup script" -q\n',
    )
    .action(async (options, command: Command) => {
      const request = parseCreateOptions(options);
      const { tokens } = await open(command);
      const issued = await createToken(tokens, request);
      io.stdout(issued.token + '\n');
      if (options.quiet !== true) io.stderr(describeIssued(issued));
    });

  program
    .command('list')
    .summary("list a user's live tokens (never their secrets)")
    .description(
      "List a user's live tokens, newest first: id, label, scopes, expiry mode and times. Never secrets.",
    )
    .usage('-u <login> [--limit <n>] [--cursor <cursor>] [--json]')
    .option('-u, --user <login>', 'user login (mandatory)')
    .option('--limit <n>', 'print one page of at most n tokens (default: every token, page by page)')
    .option('--cursor <cursor>', 'print the page that starts there (printed on stderr after a page)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options, command: Command) => {
      const request = parseListOptions(options);
      const { tokens } = await open(command);
      const found = await listTokens(tokens, request);
      if (options.json === true) io.stdout(formatJson(found.tokens.map(tokenToJson)));
      else if (found.tokens.length === 0) io.stderr(`no live tokens for user "${request.user}"\n`);
      else io.stdout(formatTable(found.tokens));
      if (found.next !== null) io.stderr(`next page: --cursor ${found.next}\n`);
    });

  program
    .command('expiring')
    .summary("list every user's tokens whose hard limit is near (for expiry notices)")
    .description(
      "List every user's live tokens whose hard limit falls within --within from now, soonest first: " +
        'for a daily job that tells owners before their tokens stop working (docs/expiry-notices.md). ' +
        'Read from an index by hard limit. Never secrets.',
    )
    .usage('--within <duration> [--limit <n>] [--cursor <cursor>] [--json]')
    .option('--within <duration>', 'how far ahead to look, e.g. 7d (mandatory)')
    .option('--limit <n>', 'print one page of at most n tokens (default: every token, page by page)')
    .option('--cursor <cursor>', 'print the page that starts there (printed on stderr after a page)')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', `\n${DURATIONS}\n`)
    .action(async (options, command: Command) => {
      const request = parseExpiringOptions(options);
      const { tokens } = await open(command);
      const found = await listExpiringTokens(tokens, request);
      if (options.json === true) io.stdout(formatJson(found.tokens.map(tokenToJson)));
      else if (found.tokens.length === 0) io.stderr('no live token has its hard limit in that window\n');
      else io.stdout(formatExpiringTable(found.tokens));
      if (found.next !== null) io.stderr(`next page: --cursor ${found.next}\n`);
    });

  program
    .command('inspect')
    .summary('show one token (never refreshes a sliding token)')
    .description(
      'Show one token by id. Reading it does not count as a use: a sliding token is not refreshed.',
    )
    .usage('<id> [--json]')
    .argument('<id>', 'token id (16 hex characters, as shown by list)')
    .option('--json', 'print JSON')
    .action(async (idText: string, options, command: Command) => {
      const id = parseTokenId(idText);
      const { tokens } = await open(command);
      const info = await inspectToken(tokens, id);
      io.stdout(options.json === true ? formatJson(tokenToJson(info)) : formatDetails(info));
    });

  program
    .command('revoke')
    .summary('revoke tokens by id, or all the tokens of a user')
    .description('Revoke tokens by id, or every token of a user with --user <login> --all.')
    .usage('<id>... | --user <login> --all')
    .argument('[ids...]', 'token ids (16 hex characters, as shown by list)')
    .option('-u, --user <login>', 'with --all: the user whose tokens to revoke')
    .option('--all', "revoke all the user's tokens")
    .action(async (ids: string[], options, command: Command) => {
      const request = parseRevokeOptions({ ids, user: options.user, all: options.all });
      const { tokens } = await open(command);
      const result = await revokeTokens(tokens, request);
      if (result.kind === 'user') {
        io.stdout(`revoked ${result.count} token${result.count === 1 ? '' : 's'} of user "${result.user}"\n`);
        return;
      }
      for (const id of result.revoked) io.stdout(`revoked ${id}\n`);
      for (const id of result.unknown) {
        io.stderr(`${PROGRAM_NAME}: no token with id ${id} (unknown, expired or revoked)\n`);
      }
      if (result.unknown.length > 0) exitCode = EXIT_FAILURE;
    });

  program
    .command('rotate')
    .summary('replace a token by a new one (printed once, on stdout)')
    .description(
      'Replace a token by a new one with the same owner, label, scopes, window and hard limit: ' +
        'rotating never makes a temporary token last longer. The old token keeps working for --overlap ' +
        '(default 0: it stops at once).',
    )
    .usage('<id> [--overlap <duration>] [-q]')
    .argument('<id>', 'token id (16 hex characters, as shown by list)')
    .option('--overlap <duration>', 'how long the old token keeps working, e.g. 1h (default: 0)')
    .option('-q, --quiet', 'print the new token alone, nothing on stderr')
    .addHelpText('after', `\n${DURATIONS}\n`)
    .action(async (idText: string, options, command: Command) => {
      const request = parseRotateOptions(idText, options);
      const { tokens } = await open(command);
      const fresh = await rotateToken(tokens, request);
      io.stdout(fresh.token + '\n');
      if (options.quiet !== true) {
        const until =
          request.overlap === 0
            ? 'is revoked'
            : `keeps working until ${new Date(Date.now() + request.overlap).toISOString()}`;
        io.stderr(`The old token ${request.id} ${until}.\n${describeIssued(fresh)}`);
      }
    });

  program
    .command('scan')
    .summary('find tokens in files, standard input or git by their checksum (no store needed)')
    .description(
      'Find text in the token format with a valid checksum in files, folders (inside a git work tree, ' +
        "the files git considers: .gitignore is honoured), standard input (-), the staged changes or every commit's " +
        'added lines. Prints where and the token id, never the token. Exit 0 nothing found, 1 found, 2 usage ' +
        'error or unreadable path.',
    )
    .usage(
      '[paths...] [--token-prefix <prefix>] [--json | --sarif] [--git-staged | --git-history] [--revoke]',
    )
    .argument('[paths...]', 'files, folders, - for standard input (default: the working directory)')
    .option(
      '--token-prefix <prefix>',
      `token prefix to look for (default: the tokenPrefix of the config named by --config or $${CONFIG_ENV}, ` +
        "else pat_; with --revoke, the store's config)",
    )
    .option('--json', 'print [{path, line, column, tokenId}] as JSON')
    .option('--sarif', 'print a SARIF 2.1.0 log (GitHub code scanning, editors)')
    .option('--git-staged', 'scan the lines the staged changes add (for a pre-commit hook)')
    .option('--git-history', 'scan the lines every commit adds, on every ref (reported as commit:path:line)')
    .option('--revoke', 'revoke each token found that is a live token of the store (needs the store)')
    .action(async (paths: string[], options, command: Command) => {
      const request = parseScanOptions(paths, options);
      exitCode = await runScan(request, command.optsWithGlobals<GlobalOptions>(), io, () => open(command));
    });

  program
    .command('serve-auth')
    .summary('answer the auth sub-requests of nginx, Caddy or Traefik (runs until SIGTERM)')
    .description(
      `Serve forward auth at ${SERVE_AUTH_PATH}: 200 with X-Auth-User, X-Auth-Token-Id and X-Auth-Scopes for ` +
        'a valid token (Bearer, or the password of Basic), 401, 403 for a scope that does not cover the ' +
        'request (resolveNode in the config maps a request to a node), 503 when the store is down.',
    )
    .usage(
      '[--listen <host:port>] [--trust-proxy <addresses>] [--throttle <failures>/<window>] [--introspection] ' +
        '[--workers <n>]',
    )
    .option('--listen <host:port>', `where to listen (default: ${DEFAULT_LISTEN})`)
    .option('--trust-proxy <addresses>', "Express' trust proxy, for client IPs (default: loopback)")
    .option('--throttle <failures/window>', 'refuse an IP with 429 after this many failures, e.g. 10/15m')
    .option(
      '--introspection',
      `also serve token introspection (RFC 7662) at ${INTROSPECTION_PATH}, for the clients of the config's ` +
        `introspectionClients or $${INTROSPECTION_CLIENTS_ENV} (id:secret,...)`,
    )
    .option(
      '--workers <n>',
      `processes answering on the port, 1 to ${MAX_WORKERS} or auto (as many as CPUs); a worker that dies is restarted (default: 1)`,
    )
    .action(async (options, command: Command) => {
      const request = parseServeAuthOptions(options, io.env);
      // The primary of --workers opens nothing: each worker runs this very command line.
      if (request.workers > 1 && !isServeAuthWorker()) {
        const cli = join(__dirname, `main${extname(__filename)}`);
        exitCode = await superviseWorkers({ count: request.workers, cli, argv, env: io.env }, io.stderr);
        return;
      }
      const opened = await open(command, { reconnect: true });
      await serveAuth(opened, request, io.stderr);
    });

  try {
    await program.parseAsync(postgresWithoutUrl(argv, program), { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error, state, io);
  } finally {
    await state.opened?.close().catch(() => {});
  }
}

/**
 * `--postgres` right before a command (`personal-token --postgres list ...`) takes no URL: commander
 * would read the command's name as the option's value, so it is given an empty one instead, which
 * means $DATABASE_URL as `--postgres` alone does.
 */
function postgresWithoutUrl(argv: readonly string[], program: Command): string[] {
  const commands = new Set(program.commands.map((command) => command.name()));
  return argv.map((arg, index) =>
    arg === '--postgres' && commands.has(argv[index + 1] ?? '') ? '--postgres=' : arg,
  );
}

/** Accumulates a repeatable option (no default, so help does not print `(default: [])`). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) {
    names.unshift(current.name());
  }
  return names.join(' ');
}

/** Prints the one line that describes a failure and returns the exit code for it. */
function report(error: unknown, state: RunState, io: CliIo): number {
  const line = (text: string) => io.stderr(oneLine(text) + '\n');
  const usage = (problem: string) => {
    const path = commandPath(state.command);
    const form = `${path} ${state.command.usage()}`;
    line(`${path}: ${problem.replace(/\.$/, '')}; usage: ${form}`);
    return EXIT_USAGE;
  };

  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return EXIT_OK; // --help: already printed on stdout
    if (error.code === 'commander.help') return usage('missing command (see personal-token --help)');
    return usage(error.message.replace(/^error: /, ''));
  }
  if (error instanceof UnsafeConfigError) {
    line(`${PROGRAM_NAME}: ${messageOf(error)}`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError || isLibraryUsageError(error)) return usage(messageOf(error));
  // Outside the app's policy (the per-user limit, too many scopes, too long an expiry or window): the
  // command line cannot work as it is, but it is not a syntax problem, so no usage form.
  if (isPolicyRefusal(error)) {
    line(`${PROGRAM_NAME}: ${messageOf(error)}`);
    return EXIT_USAGE;
  }
  if (isStoreUnavailable(error)) {
    line(`${PROGRAM_NAME}: ${state.opened?.where ?? 'the token store'} is unavailable: ${messageOf(error)}`);
    return EXIT_FAILURE;
  }
  // A refusal (CommandFailure, the library's unknown user, scope not allowed, token limit...) or
  // anything unexpected: its message, never a stack trace.
  line(`${PROGRAM_NAME}: ${messageOf(error)}`);
  return EXIT_FAILURE;
}
