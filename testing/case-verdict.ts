import type { ConformanceReport } from './check-token-store';

/**
 * Judges one case's report as a test: its failure, or a part missing that was not declared missing
 * (`notOffered`), or a part declared missing that is there, or a case that did not run, throws.
 */
export function judgeCase(caseName: string, report: ConformanceReport, declaredMissing: boolean): void {
  const failure = report.failed[0];
  if (failure) throw failure.error;
  const missing = report.skipped.includes(caseName);
  if (missing && !declaredMissing) {
    throw new Error(
      `${caseName}: the store or its harness does not offer the part this case is for; ` +
        'name the case in notOffered if that is intended',
    );
  }
  if (!missing && declaredMissing)
    throw new Error(`${caseName} is declared notOffered, yet the store and its harness offer it`);
  if (!missing && !report.passed.includes(caseName)) throw new Error(`${caseName} did not run`);
}
