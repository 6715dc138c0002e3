/**
 * A small node tree for scope tests, as ids:
 *   root ─ docs ─ reports ─ q1
 *        └ private ─ notes
 */
const parents: Record<string, string | undefined> = {
  q1: 'reports',
  reports: 'docs',
  docs: 'root',
  notes: 'private',
  private: 'root',
};

/** The ancestors of a node of that tree, nearest first (a `resolveAncestors`). */
export function ancestors(nodeId: string): string[] {
  const out: string[] = [];
  for (let parent = parents[nodeId]; parent; parent = parents[parent]) out.push(parent);
  return out;
}
