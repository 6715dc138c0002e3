// Reads one thread's callgrind dump (--dump-instr=no): its instruction total, the instructions spent
// inside functions whose names match a pattern (what they called included), and how often functions
// whose names match another were called. Function names are the binary's symbols (Node ships them):
// C++ and V8's builtins by name; JIT-compiled JavaScript is anonymous.
import { readFileSync } from 'node:fs';

export interface DumpFigures {
  total: number;
  /** Instructions inside the `inside` pattern's functions, their callees included. */
  inside: number;
  /** Calls to the `called` pattern's functions. */
  calls: number;
}

export function readDump(file: string, patterns: { inside: RegExp; called: RegExp }): DumpFigures {
  const text = readFileSync(file, 'utf8');
  const total = Number((/^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text))?.[1] ?? NaN);
  // Names are compressed: `fn=(12) name` the first time, `fn=(12)` after.
  const names = new Map<string, string>();
  const nameOf = (value: string) => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(value);
    if (!match) return value;
    if (match[2] !== undefined) names.set(match[1]!, match[2]);
    return names.get(match[1]!) ?? value;
  };
  let [caller, callee, count] = ['', '', 0];
  let callCost = false;
  const figures = { total, inside: 0, calls: 0 };
  for (const line of text.split('\n')) {
    if (callCost) {
      callCost = false;
      // The line after `calls=` holds the call's inclusive cost. A call from a function that matches
      // too (recursion, a helper of the same family) is already inside the outer one.
      if (patterns.inside.test(callee) && !patterns.inside.test(caller))
        figures.inside += Number(line.split(' ')[1]);
      if (patterns.called.test(callee) && !patterns.called.test(caller)) figures.calls += count;
    } else if (line.startsWith('fn=')) caller = nameOf(line.slice(3));
    else if (line.startsWith('cfn=')) callee = nameOf(line.slice(4));
    else if (line.startsWith('calls=')) {
      count = Number(line.slice(6).split(' ')[0]);
      callCost = true;
    }
  }
  return figures;
}
