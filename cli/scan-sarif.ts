import { isAbsolute, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `scan --sarif`: a SARIF 2.1.0 log, the format GitHub code scanning (`github/codeql-action/upload-sarif`)
 * and editors' SARIF viewers read. One rule, one result per finding. Only ids, never token text.
 */

/** What a SARIF result is made from: a finding without its token text. */
export interface ReportedFinding {
  path: string;
  line: number;
  column: number;
  tokenId: string;
  /** The commit that added it, for `--git-history`. */
  commit?: string;
  /** What `--revoke` did. */
  revocation?: string;
}

export const SARIF_RULE_ID = 'personal-token/leaked-token';

export function sarifLog(findings: readonly ReportedFinding[], tokenLength: number): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'personal-token scan',
            informationUri: 'https://www.npmjs.com/package/personal-token-auth',
            rules: [
              {
                id: SARIF_RULE_ID,
                name: 'LeakedPersonalToken',
                shortDescription: { text: 'A personal access token in the clear' },
                fullDescription: {
                  text:
                    'Text in the personal-token-auth token format whose checksum and id are valid: a real ' +
                    'token, usable by anyone who reads it until it is revoked.',
                },
                help: {
                  text:
                    'Revoke the token (personal-token revoke <id>, or personal-token scan --revoke), then ' +
                    'remove it from the file and, if it was committed, from the history.',
                },
                defaultConfiguration: { level: 'error' },
                properties: {
                  tags: ['security', 'secret'],
                  'security-severity': '9.0',
                  precision: 'very-high',
                },
              },
            ],
          },
        },
        columnKind: 'utf16CodeUnits',
        results: findings.map((finding) => ({
          ruleId: SARIF_RULE_ID,
          ruleIndex: 0,
          level: 'error',
          message: {
            text:
              `Personal access token ${finding.tokenId} in the clear` +
              (finding.commit === undefined ? '' : ` (added by commit ${finding.commit})`) +
              (finding.revocation === undefined ? '' : `; ${finding.revocation}`) +
              '.',
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: uriOf(finding.path) },
                region: {
                  startLine: finding.line,
                  startColumn: finding.column,
                  endLine: finding.line,
                  endColumn: finding.column + tokenLength,
                },
              },
            },
          ],
          // The same token at the same place is the same alert from one run to the next.
          partialFingerprints: { 'tokenId/v1': finding.tokenId },
          ...(finding.commit === undefined ? {} : { properties: { commit: finding.commit } }),
        })),
      },
    ],
  };
}

/** A relative path as a relative URI reference (each segment percent-encoded), an absolute one as a file URL. */
export function uriOf(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return path
    .split(sep === '/' ? '/' : /[\\/]/)
    .filter((segment) => segment !== '.')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
