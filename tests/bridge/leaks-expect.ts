// What test-programs/leaks_target.c's leaks and retainers are, from its probe lines, and the checks
// of the answers to alloc leaks / retainers / snapshot / diff against them: shared by the gdb tests
// (leaks.test.ts) and the LLDB ones (leaks-lldb.test.ts), so both fronts are held to the same exact
// answers; with the program's build and scratch folder, which the debug adapter's tests of the same
// program (extension/dap-graph.test.ts, dap-treemap.test.ts) use too.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildWithAllocsCc } from "../lib/programs";
import { type Json, type ProgramFixture, useProgram } from "./gdb";

export const FILE = "leaks_target.c";

/** `probe NAME k=v ...` lines; a name printed several times keeps its first values. */
export function probes(stdout: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const m of stdout.matchAll(/^probe (\S+)(.*)$/gm)) {
    if (out.has(m[1])) continue;
    const kv: Record<string, string> = {};
    for (const p of m[2].trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = p.split("=");
      kv[k] = v;
    }
    out.set(m[1], kv);
  }
  return out;
}

export interface Group {
  kind: string;
  type: string;
  line: number;
  count: number;
  bytes: number;
}

/** The leak groups the program's probes say there are, in the report's order. */
export function expectedGroups(p: Map<string, Record<string, string>>): Group[] {
  const n = (name: string, key: string) => Number(p.get(name)?.[key]);
  const node = n("list", "size");
  return [
    // definitely lost, then indirectly, then reachable only through untyped memory; by bytes
    // then count (then address: the list head is the highest of its site's chunks)
    { kind: "definite", type: "struct node", line: n("list_node", "line"), count: 1, bytes: node },
    { kind: "definite", type: "struct pair", line: n("cycle", "line"), count: 1, bytes: n("cycle", "size") },
    {
      kind: "definite",
      type: "struct holder",
      line: n("holder", "line"),
      count: 1,
      bytes: n("holder", "size"),
    },
    { kind: "indirect", type: "struct node", line: n("list_node", "line"), count: 2, bytes: 2 * node },
    {
      kind: "indirect",
      type: "struct payload",
      line: n("payload", "line"),
      count: 1,
      bytes: n("payload", "size"),
    },
    {
      kind: "indirect",
      type: "struct pair",
      line: n("cycle", "line") + 2,
      count: 1,
      bytes: n("cycle", "size"),
    },
    {
      kind: "conservative",
      type: "struct hidden",
      line: n("hidden", "line"),
      count: 1,
      bytes: n("hidden", "size"),
    },
  ];
}

export function checkLeaks(j: Json, p: Map<string, Record<string, string>>, what: string): void {
  assert.ok(j, `${what}: no answer to alloc leaks`);
  const want = expectedGroups(p);
  const got = (j.groups as Json[]).map((g) => ({
    kind: g.kind,
    type: g.type,
    line: g.site.line,
    count: g.count,
    bytes: g.bytes,
  }));
  // definitely lost groups are sorted by bytes, count, then example address: the three 16-byte
  // heads are compared as a set
  const key = (g: Group) => JSON.stringify(g);
  assert.deepEqual(got.map(key).sort(), want.map(key).sort(), `${what}: leak groups`);
  assert.deepEqual(
    got.map((g) => g.kind),
    want.map((g) => g.kind),
    `${what}: definite, indirect, conservative in that order`,
  );
  for (const g of j.groups as Json[]) {
    assert.ok(String(g.site.file).endsWith(FILE), `${what}: site file ${g.site.file}`);
    assert.match(g.example, /^0x[0-9a-f]+$/);
  }
  const sum = (kind: string) => want.filter((g) => g.kind === kind).reduce((a, g) => a + g.bytes, 0);
  assert.deepEqual(j.definite, { count: 3, bytes: sum("definite") }, `${what}: definitely lost`);
  assert.deepEqual(j.indirect, { count: 4, bytes: sum("indirect") }, `${what}: indirectly lost`);
  assert.deepEqual(j.conservative, { count: 1, bytes: sum("conservative") }, `${what}: conservative`);
  assert.equal(j.typed, true);
}

/** The chain g_cache .buckets[12] -> struct entry .next -> struct entry, step by step. */
export function checkCacheChain(j: Json, p: Map<string, Record<string, string>>, what: string): void {
  const chain = p.get("chain");
  assert.ok(chain);
  assert.equal(j.target.base, "0x" + BigInt(chain.e2).toString(16), `${what}: target`);
  assert.equal(j.target.type, "struct entry");
  assert.equal(j.chains.length, 1, `${what}: one chain: ${JSON.stringify(j.chains)}`);
  const [s0, s1] = j.chains[0].steps;
  assert.equal(j.chains[0].length, 2);
  assert.deepEqual(
    [s0.kind, s0.symbol, s0.type, s0.path],
    ["static", "g_cache", "struct cache", ".buckets[12]"],
  );
  assert.deepEqual(
    [s1.kind, s1.base, s1.type, s1.path, s1.typed],
    ["heap", "0x" + BigInt(chain.e1).toString(16), "struct entry", ".next", true],
  );
}

/** Chunks only another thread's stack or register points to. */
export function checkThreadRoots(stack: Json, reg: Json, what: string): void {
  assert.equal(stack.target.type, "struct tnode");
  assert.deepEqual(
    stack.chains.map((c: Json) => c.steps.map((s: Json) => [s.kind, s.function, s.variable])),
    [[["stack", "stack_holder", "mine"]]],
    `${what}: the thread's local variable holds the only pointer`,
  );
  assert.equal(reg.target.type, "struct rnode");
  assert.deepEqual(
    reg.chains.map((c: Json) => c.steps.map((s: Json) => [s.kind, s.register])),
    [[["register", "r15"]]],
    `${what}: the thread's r15 holds the only pointer`,
  );
}

export const QUERIES: Array<[string, string]> = [
  ["leaks", "alloc leaks --json"],
  ["cache", "alloc retainers --json g_cache.buckets[12]->next"],
  // the program keeps these addresses disguised, so that no scan takes them for pointers
  ["stack", "alloc retainers --json (void *)(g_tnode_key ^ 0x5a5a5a5a5a5a5a5a)"],
  ["reg", "alloc retainers --json (void *)(g_rnode_key ^ 0x5a5a5a5a5a5a5a5a)"],
  ["hidden", "alloc retainers --json *(void **)((char *)g_untyped + 16)"],
];

/** Asked at the program's first stop after QUERIES: a snapshot of the heap named `first`. */
export const SAVE_FIRST: [string, string] = ["save", "alloc snapshot save --json first"];

/** Asked at the program's second stop: the growth since `first`, then `first` listed, removed and
 * asked about again (an error). */
export const SINCE_FIRST_QUERIES: Array<[string, string]> = [
  ["diff", "alloc diff --json first"],
  ["since", "alloc ls --json --since first"],
  ["ls", "alloc snapshot ls --json"],
  ["rm", "alloc snapshot rm --json first"],
  ["gone", "alloc diff --json first now"],
];

/** The answers to every one of QUERIES: the leaks, the cache's chain, the thread roots and the
 * chain through untyped memory. */
export function checkAllRetainers(
  a: Map<string, Json>,
  p: Map<string, Record<string, string>>,
  what: string,
): void {
  checkLeaks(a.get("leaks"), p, what);
  checkCacheChain(a.get("cache"), p, what);
  checkThreadRoots(a.get("stack"), a.get("reg"), what);
  checkHiddenChain(a.get("hidden"), p, what);
}

/** The chunk whose only pointer lies in an untyped buffer: reached through it, conservatively. */
export function checkHiddenChain(hidden: Json, p: Map<string, Record<string, string>>, what: string): void {
  assert.equal(hidden.target.type, "struct hidden");
  assert.deepEqual(
    hidden.chains[0].steps.map((s: Json) => [s.kind, s.symbol ?? s.type, s.path, s.typed ?? null]),
    [
      ["static", "g_untyped", "", null],
      ["heap", `char[${p.get("untyped")?.size}]`, "[16]", false],
    ],
    `${what}: the hidden chunk is reached through the untyped buffer, conservatively`,
  );
}

/** The growth between the program's two stops (`alloc diff --json` from the first stop's snapshot
 * to now) and the allocations new since (`alloc ls --json --since`), from its probe lines. */
export function checkGrowth(
  d: Json,
  since: Json,
  p: Map<string, Record<string, string>>,
  stdout: string,
  what: string,
): void {
  const grow = Number(p.get("grow")?.size ?? 32);
  assert.deepEqual(
    d.total,
    {
      added: 5,
      addedBytes: 5 * grow,
      freed: 2,
      freedBytes: 2 * Number(p.get("entry")?.size),
      net: 3,
      netBytes: 5 * grow - 2 * Number(p.get("entry")?.size),
    },
    `${what}: total growth`,
  );
  assert.deepEqual(
    d.byType.map((x: Json) => [x.type, x.added, x.addedBytes, x.freed, x.freedBytes]),
    [
      ["struct grow", 5, 5 * grow, 0, 0],
      ["struct entry", 0, 0, 2, 2 * Number(p.get("entry")?.size)],
    ],
    `${what}: growth by type`,
  );
  const growLine = /^probe grow line=(\d+)/m.exec(stdout)?.[1];
  const site = (x: Json) => /^(\S+) at (.*):(\d+)$/.exec(x.site)?.slice(1);
  assert.deepEqual(
    d.bySite.map((x: Json) => [...(site(x) ?? []).map((v, i) => (i === 1 ? path.basename(v) : v)), x.net]),
    [
      ["grow", FILE, growLine, 5],
      ["fill_cache", FILE, p.get("kept")?.line, -2],
    ],
    `${what}: growth by site`,
  );
  assert.equal(since.matched, 5, `${what}: new since the snapshot`);
  for (const e of since.entries) {
    assert.equal(e.type, "struct grow");
    assert.equal(e.site.line, Number(growLine));
  }
}

/** The answers to SAVE_FIRST and SINCE_FIRST_QUERIES: the snapshot saved under CACHE_HOME (the
 * run's XDG_CACHE_HOME) with every live chunk, the growth since it, then listed and removed. The
 * snapshot's path, for the caller to check the error about it (each front words it its own way). */
export function checkSnapshotLifecycle(
  a: Map<string, Json>,
  p: Map<string, Record<string, string>>,
  stdout: string,
  cacheHome: string,
  what: string,
): string {
  const save = a.get("save");
  assert.equal(save.name, "first");
  assert.equal(save.path, path.join(cacheHome, "allocs", "snapshots", "first.snap.json.gz"));
  assert.equal(save.chunks, a.get("leaks").live.count, "the snapshot holds every live chunk");
  checkGrowth(a.get("diff"), a.get("since"), p, stdout, what);
  assert.deepEqual(
    a.get("ls").snapshots.map((x: Json) => x.name),
    ["first"],
  );
  assert.equal(a.get("rm").removed, save.path);
  assert.ok(!fs.existsSync(save.path));
  return save.path;
}

/** leaks_target built by `allocs cc` and a scratch folder for a describe block (gdb.ts's
 * useProgram); `requireDebugger` skips the block when its debugger is missing. */
export interface LeaksTarget extends ProgramFixture {
  /** the scratch folder's cache/ as XDG_CACHE_HOME: the snapshots go there */
  env(): NodeJS.ProcessEnv;
}

export function useLeaksTarget(
  tmpPrefix: string,
  requireDebugger: (ctx: Mocha.Context) => void,
): LeaksTarget {
  const program = useProgram(tmpPrefix, requireDebugger, () => buildWithAllocsCc("leaks_target"));
  return Object.assign(program, {
    env: (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: path.join(program.dir, "cache") }),
  });
}
