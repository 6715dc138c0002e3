import { OptionsError } from './errors';
import { quoteInput } from './quote-input';

/**
 * Every option of `Options`, each named once. A literal of this type must name them all and nothing
 * else, so that an option added to an interface without being added to its list does not compile.
 */
export type OptionNameList<Options> = { readonly [Name in keyof Options]-?: true };

/** The names of an options interface, as `checkOptions` takes them. */
export type OptionNames = ReadonlySet<string>;

/** The set of names an `OptionNameList` holds (declared beside the options' interface). */
export function optionNames<Options>(list: OptionNameList<Options>): OptionNames {
  return new Set(Object.keys(list));
}

/**
 * Checks that `options` is an object whose every own key is one of `names`: `where` names the
 * constructor or factory (`personalTokenAuth`), `within` the option that holds a sub-object
 * (`cache`), so that messages name `cache.maxEntries`.
 *
 * A key counts whatever its value, `undefined` included: a misspelt name is a programmer error (and
 * `{ token: service }` would otherwise get the default Redis service). Elsewhere a known option
 * whose value is `undefined` counts as absent, as express-rate-limit's options do.
 */
export function checkOptions(where: string, options: unknown, names: OptionNames, within?: string): void {
  const path = (name: string) => (within === undefined ? name : `${within}.${name}`);
  if (typeof options !== 'object' || options === null || !OPTION_OBJECT_KINDS.has(builtInKind(options))) {
    throw new OptionsError(
      'ERR_OPTIONS_NOT_OBJECT',
      `${where}: ${within ?? 'options'} must be an object of options (got ${kindOf(options)})`,
    );
  }
  for (const key of Object.keys(options)) {
    if (names.has(key)) continue;
    const suggestion = nearestName(key, names);
    const hint =
      suggestion === undefined
        ? ` (the options are ${[...names].map(path).join(', ')})`
        : ` — did you mean ${quoteInput(path(suggestion))}?`;
    throw new OptionsError('ERR_UNKNOWN_OPTION', `${where}: unknown option ${quoteInput(path(key))}${hint}`, [
      path(key),
    ]);
  }
}

/** Refuses two options that cannot go together, when both are given (not `undefined`). */
export function refuseTogether(
  where: string,
  options: object,
  first: string,
  second: string,
  why: string,
): void {
  const given = options as Record<string, unknown>;
  if (given[first] === undefined || given[second] === undefined) return;
  throw new OptionsError(
    'ERR_CONFLICTING_OPTIONS',
    `${where}: options "${first}" and "${second}" cannot go together: ${why}`,
    [first, second],
  );
}

// Words, not values: an object of options passed where a token was expected must not be echoed.
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${builtInKind(value)}`;
  return `a ${typeof value}`;
}

// A module namespace too: a config file's named exports are its options.
const OPTION_OBJECT_KINDS = new Set(['Object', 'Module']);

/**
 * `Object` for a plain object, a class instance or a Proxy of one; the built-in's name for the others. A
 * Promise (options not awaited), a Map or a Date has no own keys to refuse, and would otherwise pass as
 * empty options: every option its default, the default Redis service among them.
 */
function builtInKind(value: object): string {
  return Object.prototype.toString.call(value).slice('[object '.length, -1);
}

// Beyond this many edits, a name is something else rather than a slip of the keyboard.
const MAX_EDITS = 2;

/** The known name a key was probably meant to be: the same but for case, or within two edits. */
export function nearestName(key: string, names: Iterable<string>): string | undefined {
  let nearest: string | undefined;
  let fewest = MAX_EDITS + 1;
  for (const name of names) {
    if (name.toLowerCase() === key.toLowerCase()) return name;
    const edits = editDistance(key, name, fewest);
    if (edits < fewest) {
      fewest = edits;
      nearest = name;
    }
  }
  return nearest;
}

/**
 * Levenshtein distance, or `bound` as soon as it is known to be at least that: a key of any length
 * costs no more than its length times the name's.
 */
function editDistance(a: string, b: string, bound: number): number {
  if (Math.abs(a.length - b.length) >= bound) return bound;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowBest = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
      rowBest = Math.min(rowBest, current[j]!);
    }
    if (rowBest >= bound) return bound;
    previous = current;
  }
  return Math.min(previous[b.length]!, bound);
}
