// What "Show Heap Treemap" asks the debugger and draws: the census by type or site
// (`allocs/census`), the saved snapshots to compare with (`allocs/snapshot ls`) and, comparing, the
// growth since one (`allocs/diff {from}`, to now). No vscode import: graph.ts calls it in the
// command and at every stop; tests/extension/dap-treemap.test.ts calls it on a live DAP session.
import { isDiff } from "./graph-render";
import { census, type RequestSession } from "./requests";
import { renderTreemapPageHtml, type TreemapArgs } from "./treemap-render";
import { humanBytes } from "./description";

/** The newest snapshots offered as comparisons (the rest stay reachable with Compare with Heap Snapshot...). */
const SNAPSHOT_LINKS = 8;

async function snapshotNames(session: RequestSession): Promise<string[]> {
  try {
    const ls = (await session.customRequest("allocs/snapshot", { action: "ls" })) as {
      snapshots?: { name: string; mtime?: number }[];
    };
    const snaps = [...(ls.snapshots ?? [])].sort((a, b) => (b.mtime ?? 0) - (a.mtime ?? 0));
    return snaps.slice(0, SNAPSHOT_LINKS).map((s) => s.name);
  } catch {
    return []; // a debugger without snapshots still draws the live heap
  }
}

export async function treemapPage(
  session: RequestSession,
  args: TreemapArgs = {},
): Promise<{ body: string; title: string }> {
  const by = args.by ?? "type";
  const now = await census(session, by);
  const snapshots = await snapshotNames(session);
  if (args.from === undefined) {
    return {
      body: renderTreemapPageHtml(now, { snapshots }),
      title: `by ${by} (${now.total.chunks} allocations, ${humanBytes(now.total.bytes)})`,
    };
  }
  const diff = await session.customRequest("allocs/diff", { from: args.from });
  if (!isDiff(diff)) throw new Error("the debugger's answer is not a comparison");
  return {
    body: renderTreemapPageHtml(now, { diff, snapshots, from: args.from }),
    title: `growth by ${by} since ${args.from}`,
  };
}
