// alloc leaks, alloc retainers, alloc snapshot / diff / ls --since and `allocs diff` against
// test-programs/leaks_target.c, whose leaks, retainers and growth are known: every leak group's
// count, bytes, type and site line, and every retainer chain step by step, checked exactly, live,
// on a kernel core and on gcores.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildWithAllocsCc, hasCommand } from "../lib/programs";
import {
  BIN,
  GDB_TIMEOUT_MS,
  type Json,
  allocErrors,
  allocsGdb,
  answers,
  makeKernelCore,
  queryCommands,
  skipWithoutKernelCores,
} from "./gdb";

const FILE = "leaks_target.c";

/** `probe NAME k=v ...` lines; a name printed several times keeps its first values. */
function probes(stdout: string): Map<string, Record<string, string>> {
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

interface Group {
  kind: string;
  type: string;
  line: number;
  count: number;
  bytes: number;
}

/** The leak groups the program's probes say there are, in the report's order. */
function expectedGroups(p: Map<string, Record<string, string>>): Group[] {
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

function checkLeaks(j: Json, p: Map<string, Record<string, string>>, what: string): void {
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
function checkCacheChain(j: Json, p: Map<string, Record<string, string>>, what: string): void {
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
function checkThreadRoots(stack: Json, reg: Json, what: string): void {
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

const QUERIES: Array<[string, string]> = [
  ["leaks", "alloc leaks --json"],
  ["cache", "alloc retainers --json g_cache.buckets[12]->next"],
  // the program keeps these addresses disguised, so that no scan takes them for pointers
  ["stack", "alloc retainers --json (void *)(g_tnode_key ^ 0x5a5a5a5a5a5a5a5a)"],
  ["reg", "alloc retainers --json (void *)(g_rnode_key ^ 0x5a5a5a5a5a5a5a5a)"],
  ["hidden", "alloc retainers --json *(void **)((char *)g_untyped + 16)"],
];

describe("alloc leaks, retainers, snapshots and diff", function () {
  this.timeout(10 * GDB_TIMEOUT_MS);
  let exe: string;
  let dir: string;
  const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: path.join(dir, "cache") });

  before(function () {
    if (!hasCommand("gdb")) this.skip();
    exe = buildWithAllocsCc("leaks_target");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-leaks-"));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("finds every leak, retainer and the growth between two stops of a live process", () => {
    const r = allocsGdb(
      [
        "-ex",
        "break stop",
        "-ex",
        "run",
        ...queryCommands(QUERIES),
        ...queryCommands([["save", "alloc snapshot save --json first"]]),
        "-ex",
        "continue",
        ...queryCommands([
          ["diff", "alloc diff --json first"],
          ["since", "alloc ls --json --since first"],
          ["ls", "alloc snapshot ls --json"],
          ["rm", "alloc snapshot rm --json first"],
          ["gone", "alloc diff --json first now"],
        ]),
        "--args",
        exe,
      ],
      { env: env() },
    );
    assert.doesNotMatch(r.stderr, /Traceback|internal error/);
    const p = probes(r.stdout);
    const a = answers(r.stdout) as Map<string, Json>;
    checkLeaks(a.get("leaks"), p, "live");
    checkCacheChain(a.get("cache"), p, "live");
    checkThreadRoots(a.get("stack"), a.get("reg"), "live");
    const hidden = a.get("hidden");
    assert.equal(hidden.target.type, "struct hidden");
    assert.deepEqual(
      hidden.chains[0].steps.map((s: Json) => [s.kind, s.symbol ?? s.type, s.path, s.typed ?? null]),
      [
        ["static", "g_untyped", "", null],
        ["heap", `char[${p.get("untyped")?.size}]`, "[16]", false],
      ],
      "the hidden chunk is reached through the untyped buffer, conservatively",
    );

    const save = a.get("save");
    assert.equal(save.name, "first");
    assert.equal(save.path, path.join(dir, "cache", "allocs", "snapshots", "first.snap.json.gz"));
    assert.equal(save.chunks, a.get("leaks").live.count, "the snapshot holds every live chunk");
    const grow = Number(p.get("grow")?.size ?? 32);
    const d = a.get("diff");
    assert.deepEqual(d.total, {
      added: 5,
      addedBytes: 5 * grow,
      freed: 2,
      freedBytes: 2 * Number(p.get("entry")?.size),
      net: 3,
      netBytes: 5 * grow - 2 * Number(p.get("entry")?.size),
    });
    assert.deepEqual(
      d.byType.map((x: Json) => [x.type, x.added, x.addedBytes, x.freed, x.freedBytes]),
      [
        ["struct grow", 5, 5 * grow, 0, 0],
        ["struct entry", 0, 0, 2, 2 * Number(p.get("entry")?.size)],
      ],
    );
    const growLine = /^probe grow line=(\d+)/m.exec(r.stdout)?.[1];
    const site = (x: Json) => /^(\S+) at (.*):(\d+)$/.exec(x.site)?.slice(1);
    assert.deepEqual(
      d.bySite.map((x: Json) => [...(site(x) ?? []).map((v, i) => (i === 1 ? path.basename(v) : v)), x.net]),
      [
        ["grow", FILE, growLine, 5],
        ["fill_cache", FILE, p.get("kept")?.line, -2],
      ],
    );
    const since = a.get("since");
    assert.equal(since.matched, 5);
    for (const e of since.entries) {
      assert.equal(e.type, "struct grow");
      assert.equal(e.site.line, Number(growLine));
    }
    assert.deepEqual(
      a.get("ls").snapshots.map((x: Json) => x.name),
      ["first"],
    );
    assert.equal(a.get("rm").removed, save.path);
    assert.ok(!fs.existsSync(save.path));
    assert.deepEqual(
      allocErrors(r.stderr),
      [`alloc: no snapshot 'first' (${save.path})`],
      "a removed snapshot is a one-line error",
    );
  });

  it("finds the same leaks and retainers in a kernel core", function () {
    skipWithoutKernelCores(this);
    const kdir = fs.mkdtempSync(path.join(dir, "kcore-"));
    const { stdout, core } = makeKernelCore(exe, ["abort"], kdir);
    const p = probes(stdout);
    const r = allocsGdb([...queryCommands(QUERIES), exe, core], { env: env() });
    assert.doesNotMatch(r.stderr, /Traceback|internal error/);
    const a = answers(r.stdout) as Map<string, Json>;
    checkLeaks(a.get("leaks"), p, "kernel core");
    checkCacheChain(a.get("cache"), p, "kernel core");
    checkThreadRoots(a.get("stack"), a.get("reg"), "kernel core");
  });

  it("compares two gcores with `allocs diff`, finding the program in the core", () => {
    const c1 = path.join(dir, "stop1.core");
    const c2 = path.join(dir, "stop2.core");
    allocsGdb(
      [
        "-ex",
        "break stop",
        "-ex",
        "run",
        "-ex",
        `gcore ${c1}`,
        "-ex",
        "continue",
        "-ex",
        `gcore ${c2}`,
        "--args",
        exe,
      ],
      { env: env() },
    );
    assert.ok(fs.existsSync(c1) && fs.existsSync(c2), "gdb wrote both cores");
    const r = spawnSync(process.execPath, [BIN, "diff", c1, c2, "--json"], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
      env: { ...process.env, ...env() },
    });
    assert.equal(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    assert.equal(d.from, c1);
    assert.equal(d.to, c2);
    assert.deepEqual(
      d.byType.map((x: Json) => [x.type, x.net]),
      [
        ["struct grow", 5],
        ["struct entry", -2],
      ],
    );
    const text = spawnSync(process.execPath, [BIN, "diff", exe, c1, c2], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^ +\+160 +\+5 +5 +160 +0 +0 {2}struct grow$/m);
    const bad = spawnSync(process.execPath, [BIN, "diff", c1, path.join(dir, "missing.core")], {
      encoding: "utf8",
      timeout: GDB_TIMEOUT_MS,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^allocs diff: .*missing\.core: no such file/m);
  });
});
