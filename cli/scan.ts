import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { scanForTokens, type TokenFinding, TokenScanner } from '../lib/manage/token-scan';
import { assertTokenPrefix, DEFAULT_TOKEN_PREFIX, tokenLength, tokenLikeText } from '../lib/token-format';
import { CONFIG_ENV, loadConfig } from './config';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import type { GlobalOptions, OpenedTokens } from './open-tokens';
import { printable, printableJson } from './output';
import { filesIn, readFileInChunks, reasonOf } from './scan-files';
import { type AddedLine, historyAddedLines, stagedAddedLines } from './scan-git';
import { type ReportedFinding, sarifLog } from './scan-sarif';

/**
 * `personal-token scan`: finds tokens by their format and checksum in files, folders, standard input,
 * the staged changes or the whole git history, and reports each by place and id. The token text is
 * never printed: not on stdout, not on stderr, not in --json or --sarif. No store and no config are
 * needed, so a pre-commit hook runs anywhere; only --revoke opens the store.
 */

export interface ScanRequest {
  /** Files, folders and `-` (standard input); for the git sources, at most one folder: the repository. */
  paths: string[];
  /** Given with --token-prefix, else undefined (the config's, else `pat_`). */
  tokenPrefix: string | undefined;
  output: 'text' | 'json' | 'sarif';
  source: 'paths' | 'staged' | 'history';
  revoke: boolean;
}

/** What --revoke did to a finding: `revokeLeaked`'s answer. */
export type Revocation = 'revoked' | 'already-revoked' | 'unknown';

export interface ScanIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  stdin?: AsyncIterable<Uint8Array>;
}

/** The path that stands for standard input. */
export const STDIN_PATH = '-';

export function parseScanOptions(paths: string[], options: Record<string, unknown>): ScanRequest {
  if (options.json === true && options.sarif === true) throw new UsageError('--json and --sarif: give one');
  if (options.gitStaged === true && options.gitHistory === true) {
    throw new UsageError('--git-staged and --git-history: give one');
  }
  const tokenPrefix = options.tokenPrefix as string | undefined;
  if (tokenPrefix !== undefined) {
    try {
      assertTokenPrefix(tokenPrefix);
    } catch (error) {
      throw new UsageError(
        `--token-prefix: ${(error as Error).message.replace(/^tokenPrefix /, '').replace(/ \(got .*\)$/s, '')}`,
      );
    }
  }
  const source = options.gitStaged === true ? 'staged' : options.gitHistory === true ? 'history' : 'paths';
  if (source !== 'paths') {
    const flag = source === 'staged' ? '--git-staged' : '--git-history';
    if (paths.length > 1 || paths[0] === STDIN_PATH) {
      throw new UsageError(
        `${flag} reads one repository: give at most one folder (default: the working directory)`,
      );
    }
  }
  return {
    paths: paths.length === 0 ? ['.'] : paths,
    tokenPrefix,
    output: options.json === true ? 'json' : options.sarif === true ? 'sarif' : 'text',
    source,
    revoke: options.revoke === true,
  };
}

/**
 * The token prefix to look for: --token-prefix, else the config's `tokenPrefix`, else `pat_`. Without
 * --revoke, only a config named by --config or $PERSONAL_TOKEN_CONFIG is read: a scan is run on trees
 * nobody vouched for (a clone, a download), and a personal-token.config.mjs in one is code its author
 * wrote, owned by whoever cloned it, so the usual check of the file's owner would let it run.
 */
async function prefixToScanFor(
  request: ScanRequest,
  globals: GlobalOptions,
  io: ScanIo,
  opened: OpenedTokens | undefined,
): Promise<string> {
  if (opened !== undefined) {
    const own = opened.tokens.tokenPrefix;
    if (request.tokenPrefix !== undefined && request.tokenPrefix !== own) {
      throw new UsageError(
        `--token-prefix ${request.tokenPrefix} is not the store's (${own}): --revoke can only revoke tokens of its own prefix`,
      );
    }
    return own;
  }
  if (request.tokenPrefix !== undefined) return request.tokenPrefix;
  const named = globals.config ?? (io.env[CONFIG_ENV] === '' ? undefined : io.env[CONFIG_ENV]);
  if (named === undefined) return DEFAULT_TOKEN_PREFIX;
  const { config } = await loadConfig(globals.config, io.cwd, io.env, (line) =>
    io.stderr(`personal-token: ${line}\n`),
  );
  return config.tokenPrefix ?? DEFAULT_TOKEN_PREFIX;
}

/** Runs a scan and returns the exit code: 0 nothing found, 1 found, 2 something could not be read. */
export async function runScan(
  request: ScanRequest,
  globals: GlobalOptions,
  io: ScanIo,
  open: () => Promise<OpenedTokens>,
): Promise<number> {
  // Before anything is read: a path that is not there is a mistyped command line.
  if (request.source === 'paths') {
    for (const path of request.paths) {
      if (path === STDIN_PATH) {
        if (io.stdin === undefined) throw new UsageError('- (standard input) cannot be read here');
        continue;
      }
      try {
        statSync(resolve(io.cwd, path));
      } catch (error) {
        throw new UsageError(`cannot read ${typedPath(path, request)}: ${reasonOf(error)}`);
      }
    }
  } else if (!isFolder(resolve(io.cwd, request.paths[0]!))) {
    throw new UsageError(`${typedPath(request.paths[0]!, request)} is not a folder`);
  }
  const opened = request.revoke ? await open() : undefined;
  const prefix = await prefixToScanFor(request, globals, io, opened);

  const reported: ReportedFinding[] = [];
  const report = async (finding: Place, text: string) => {
    let revocation: Revocation | undefined;
    if (opened !== undefined) {
      const where = `${finding.commit === undefined ? '' : `${finding.commit}:`}${finding.path}:${finding.line}`;
      revocation = await opened.tokens.revokeLeaked(text, { source: `personal-token scan ${where}` });
    }
    const path = withoutTokens(finding.path, prefix);
    const shown = revocation === undefined ? { ...finding, path } : { ...finding, path, revocation };
    reported.push(shown);
    if (request.output === 'text') io.stdout(findingLine(shown));
  };
  let unreadable = 0;
  const cannotRead = (path: string, reason: string) => {
    unreadable++;
    io.stderr(`personal-token: cannot read ${printable(withoutTokens(path, prefix))}: ${reason}\n`);
  };

  for await (const [finding, text] of tokensIn(request, prefix, io, cannotRead)) await report(finding, text);

  if (request.output === 'json') io.stdout(printableJson(reported) + '\n');
  if (request.output === 'sarif') io.stdout(printableJson(sarifLog(reported, tokenLength(prefix))) + '\n');
  if (request.output === 'text' && reported.length > 0) {
    const count = reported.length === 1 ? '1 token' : `${reported.length} tokens`;
    io.stderr(
      opened === undefined
        ? `personal-token: found ${count} in the clear: revoke ${reported.length === 1 ? 'it' : 'them'} (personal-token revoke <id>, or scan again with --revoke)\n`
        : `personal-token: found ${count} in the clear\n`,
    );
  }
  if (unreadable > 0) return EXIT_USAGE;
  return reported.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

/** The tokens the request's source holds, where each is, in the order they are read. */
async function* tokensIn(
  request: ScanRequest,
  prefix: string,
  io: ScanIo,
  cannotRead: (path: string, reason: string) => void,
): AsyncGenerator<[Place, string]> {
  if (request.source !== 'paths') {
    const repository = resolve(io.cwd, request.paths[0]!);
    const lines = request.source === 'staged' ? stagedAddedLines(repository) : historyAddedLines(repository);
    const needle = Buffer.from(prefix, 'latin1');
    for await (const added of lines) {
      if (added.bytes.indexOf(needle) === -1) continue;
      for (const found of scanForTokens(added.bytes, prefix)) yield [inCommit(added, found), found.text];
    }
    return;
  }
  for (const path of request.paths) {
    if (path === STDIN_PATH) {
      const scanner = new TokenScanner(prefix);
      for await (const chunk of io.stdin!) {
        for (const found of scanner.push(chunk)) yield [placed(STDIN_PATH, found), found.text];
      }
      continue;
    }
    const files = isFolder(resolve(io.cwd, path))
      ? await filesIn(path, io.cwd)
      : { files: [path], unreadable: [] };
    for (const problem of files.unreadable) cannotRead(problem.path, problem.reason);
    for (const file of files.files) {
      const findings: TokenFinding[] = [];
      const scanner = new TokenScanner(prefix);
      try {
        readFileInChunks(resolve(io.cwd, file), (piece) => {
          for (const found of scanner.push(piece)) findings.push(found);
        });
      } catch (error) {
        cannotRead(file, reasonOf(error));
      }
      for (const found of findings) yield [placed(file, found), found.text];
    }
  }
}

/** A finding as reported, before --revoke has acted on it. */
type Place = Omit<ReportedFinding, 'revocation'>;

/**
 * A path the user typed, for an error message: not shown if it could hold a token (a token pasted
 * where a path was expected is a mistake to make without echoing it, whole or cut).
 */
function typedPath(path: string, request: ScanRequest): string {
  const tokenLike = tokenLikeText(request.tokenPrefix ?? DEFAULT_TOKEN_PREFIX);
  return tokenLike(path) ? '(a path that looks like a token, not shown)' : printable(path);
}

/** A found file's path with any token in its name replaced by its id: a file can be named after one. */
function withoutTokens(path: string, prefix: string): string {
  let shown = path;
  for (const found of scanForTokens(path, prefix))
    shown = shown.replace(found.text, `[token ${found.tokenId}]`);
  return shown;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function placed(path: string, found: TokenFinding): Place {
  return { path, line: found.line, column: found.column, tokenId: found.tokenId };
}

function inCommit(added: AddedLine, found: TokenFinding): Place {
  const place = { path: added.path, line: added.line, column: found.column, tokenId: found.tokenId };
  return added.commit === undefined ? place : { commit: added.commit, ...place };
}

const REVOCATION_TEXT: Record<Revocation, string> = {
  revoked: 'revoked',
  'already-revoked': 'already revoked',
  unknown: 'unknown',
};

/** `path:line:column  token <id>`, the commit first for history, what --revoke did last. */
export function findingLine(finding: ReportedFinding): string {
  const commit = finding.commit === undefined ? '' : `${finding.commit}:`;
  const revocation =
    finding.revocation === undefined
      ? ''
      : `  ${REVOCATION_TEXT[finding.revocation as Revocation] ?? finding.revocation}`;
  return `${commit}${printable(finding.path)}:${finding.line}:${finding.column}  token ${finding.tokenId}${revocation}\n`;
}
