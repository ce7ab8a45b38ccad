// Visits every DIE of every unit in file order (a flat walk, for tools and tests; the type
// model uses its own structured walk in model/collect.ts).

import { DieCursor } from "./die";
import { Dwarf } from "./dwarf";

/** Calls `fn(cursor, depth)` for each DIE (null entries excluded). */
export function forEachDie(dwarf: Dwarf, fn: (cur: DieCursor, depth: number) => void): void {
  const cur = dwarf.cursor();
  for (const u of dwarf.units) {
    cur.setUnit(u);
    let off = u.dieOffset;
    let depth = 0;
    while (off < u.end) {
      if (!cur.read(off)) {
        depth--;
        off = cur.next;
        if (depth <= 0) break;
        continue;
      }
      const hasChildren = cur.hasChildren;
      const next = cur.next;
      fn(cur, depth);
      if (hasChildren) depth++;
      else if (depth === 0) break;
      off = next;
    }
  }
}
