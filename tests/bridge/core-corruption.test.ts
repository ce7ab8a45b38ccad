// Damaged and wrong core files. `allocs core` and the gdb front refuse what is not a core of the
// program (empty file, directory, C source, truncated ELF, the program itself, another program's
// core). Then hundreds of seeded mutants of a kernel core and of a gcore of
// test-programs/bridge_types.c (heap structs, a pool, a thread), made and loaded in one gdb by
// core-corruption.py: no internal error, no slow query, and every answer that differs from the
// undamaged core's carries the damage note (or is a one-line error saying the core is damaged).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, buildWithAllocsCc, hasCommand, parseProbes, runtimeLib } from "../lib/programs";
import { BIN, BRIDGE, GDB_TIMEOUT_MS, type Probes, allocsGdb, makeGcore, kernelCoreProblem } from "./gdb";

const DRIVER = path.join(ROOT, "tests", "bridge", "core-corruption.py");
/** Mutants per core (ALLOCS_CORRUPTION_MUTANTS overrides: more for a longer hunt). */
const MUTANTS = Number(process.env.ALLOCS_CORRUPTION_MUTANTS ?? 100);
/** One query may take this long on a loaded machine; a hang takes forever. */
const QUERY_SECONDS = 30;

/** A count lowered from OLD to NEW (`FIELD OLD -> NEW` in the driver's label) in `fields`. */
function lowered(fields: RegExp): (what: string) => boolean {
  return (what) => {
    const m = /^(\S+) 0x([0-9a-f]+) -> 0x([0-9a-f]+)$/.exec(what);
    return !!m && fields.test(m[1]) && BigInt("0x" + m[3]) < BigInt("0x" + m[2]);
  };
}

/** Damage no reader can tell from a real state, with why (docs/core-corruption.md): the answer
 * may change with no note. Every other changed answer must carry the damage note. */
const UNDETECTABLE: Array<[(what: string) => boolean, string]> = [
  [
    (w) => /^chunk_map byte at 0x[0-9a-f]+ -> 0x0$/.test(w),
    "a cleared chunk-start mark is what free does: the chunk reads as freed (glibc keeps a tcache'd chunk's in-use bit)",
  ],
  [
    (w) => /^chunk_l1 byte at /.test(w) || /^root\[0\]\.chunk_l1 /.test(w),
    "a byte map's (or chunk_l1's) address moved to other mapped, zero-filled memory reads as a region with no chunk starts",
  ],
  [
    (w) => /^chunk_trailer byte at /.test(w),
    "a trailer's site, sequence or slack bits changed to other valid values: the trailer is their only record",
  ],
  [
    (w) => /^(allocators\[\d+\]\.name|uniqtype\[\d+\]\.c_name) /.test(w),
    "a name pointer moved to another readable string: names are reported as read",
  ],
  [
    lowered(/^(root\[0\]\.n(threads|bigs|objects)|loaded_meta\[\d+\]\.n\w+|uniqtype\[\d+\]\.count)$/),
    "a count lowered: the records past it look unused",
  ],
];

interface Result {
  answer?: { notes: string[] };
  error?: string;
  seconds: number;
  verdict: "same" | "noted" | "error" | "changed" | "silent" | "internal";
}

interface Mutant {
  index: number;
  seed: number;
  what: string;
  refused: string | null;
  results: Record<string, Result>;
}

interface Tally {
  mutants: number;
  clean: number;
  noted: number;
  errors: number;
  refused: number;
  undetectable: number;
}

/** Runs the driver on a private copy of CORE; returns the mutants' reports. */
function runMutants(exe: string, core: string, probes: Probes, seed: number, dir: string): Mutant[] {
  const work = path.join(dir, `work-${seed}.core`);
  const cp = spawnSync("cp", ["--sparse=always", core, work]);
  assert.equal(cp.status, 0, String(cp.stderr));
  const addrs = [...probes].map(([name, p]) => `${name}=${p.addr}`).join(",");
  const r = spawnSync(
    "gdb",
    [
      "-nx",
      "-q",
      "-batch",
      "-iex",
      `source ${BRIDGE}`,
      "-iex",
      "maint set bfd-sharing off",
      "-x",
      DRIVER,
      exe,
    ],
    {
      encoding: "utf8",
      timeout: 20 * GDB_TIMEOUT_MS,
      maxBuffer: 1 << 30,
      env: {
        ...process.env,
        CORRUPT_CORE: work,
        CORRUPT_ADDRS: addrs,
        CORRUPT_SEED: String(seed),
        CORRUPT_COUNT: String(MUTANTS),
      },
    },
  );
  fs.rmSync(work, { force: true });
  const started = [...r.stdout.matchAll(/^@@start (\d+) (.*)$/gm)];
  const last = started[started.length - 1];
  assert.ok(!r.error, `gdb did not finish (${r.error?.message}); the last mutant started: ${last?.[0]}`);
  assert.doesNotMatch(r.stderr, /Traceback/, r.stderr.slice(-3000));
  assert.match(r.stdout, /^@@done$/m, `the driver stopped: ${r.stderr.slice(-3000)}`);
  const baseline = /^@@baseline (.*)$/m.exec(r.stdout);
  assert.ok(baseline, "the undamaged core was answered");
  for (const [name, b] of Object.entries(JSON.parse(baseline[1]) as Record<string, Result>)) {
    assert.ok(b.answer, `undamaged ${name}: ${b.error}`);
    assert.ok(!b.answer.notes.some((n) => /damaged/.test(n)), `undamaged ${name} has no damage note`);
  }
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("@@mutant "))
    .map((l) => JSON.parse(l.slice("@@mutant ".length)) as Mutant);
}

function judge(where: string, mutants: Mutant[]): Tally {
  assert.equal(mutants.length, MUTANTS, `${where}: every mutant reported`);
  const t: Tally = { mutants: mutants.length, clean: 0, noted: 0, errors: 0, refused: 0, undetectable: 0 };
  const failures: string[] = [];
  for (const m of mutants) {
    const label = `${where} mutant ${m.index} (seed ${m.seed}: ${m.what})`;
    if (m.refused) {
      t.refused++;
      continue;
    }
    const verdicts = Object.entries(m.results);
    for (const [name, r] of verdicts) {
      if (r.seconds > QUERY_SECONDS) failures.push(`${label} ${name}: ${r.seconds} s`);
      if (r.verdict === "internal") failures.push(`${label} ${name}: ${r.error}`);
      if (r.error !== undefined) {
        assert.ok(!r.error.includes("\n"), `${label} ${name}: one line`);
        if (!/damaged|corrupted|truncated/.test(r.error)) failures.push(`${label} ${name}: error ${r.error}`);
      }
    }
    const silent = verdicts.filter(([, r]) => r.verdict === "silent" || r.verdict === "changed");
    if (silent.length) {
      if (UNDETECTABLE.some(([test]) => test(m.what))) t.undetectable++;
      else failures.push(`${label}: ${silent.map(([n]) => n).join(", ")} changed with no damage note`);
    } else if (verdicts.some(([, r]) => r.error !== undefined)) t.errors++;
    else if (verdicts.some(([, r]) => r.verdict === "noted")) t.noted++;
    else t.clean++;
  }
  console.log(`      ${where}: ${JSON.stringify(t)}`);
  assert.deepEqual(failures, []);
  return t;
}

/** A kernel core of EXE `abort` run with address-space randomisation off (as gdb runs the gcore's
 * process), so that the same seed mutates the same records in every run. ALLOCS_META_LAZY=0 (here
 * and for the gcore): the runtime's type records are built at start-up, so the cores hold them
 * and the mutants reach them (a process that has asked nothing holds none). */
function kernelCoreWithoutAslr(exe: string, kdir: string): { stdout: string; core: string } {
  const script =
    'ulimit -c unlimited; ALLOCS_META_LAZY=0 LD_PRELOAD="$1" exec setarch "$(uname -m)" -R "$2" abort';
  const r = spawnSync("sh", ["-c", script, "sh", runtimeLib(), exe], {
    cwd: kdir,
    encoding: "utf8",
    timeout: 60_000,
  });
  const core = fs.readdirSync(kdir).find((f) => f === "core" || /^core\.\d+$/.test(f));
  assert.ok(core, `no core file in ${kdir} (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  return { stdout: r.stdout, core: path.join(kdir, core) };
}

describe("gdb bridge: damaged and wrong core files", function () {
  this.timeout(20 * GDB_TIMEOUT_MS);
  let exe: string;
  let dir: string;
  let gcore: string;
  let gprobes: Probes;

  before(function () {
    if (!hasCommand("gdb")) this.skip();
    exe = buildWithAllocsCc("bridge_types");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-corrupt-"));
    gcore = path.join(dir, "types.gcore");
    gprobes = parseProbes(makeGcore(exe, "types_stop", gcore, [], { ALLOCS_META_LAZY: "0" }).stdout);
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("`allocs core` refuses what is not a core of the program, in one line with status 1", () => {
    const empty = path.join(dir, "empty");
    fs.writeFileSync(empty, "");
    const truncated = path.join(dir, "truncated.core");
    fs.writeFileSync(truncated, fs.readFileSync(gcore).subarray(0, 200_000));
    const cases: Array<[string, string, string, RegExp]> = [
      ["empty file", exe, empty, /is empty, not a core file/],
      ["directory", exe, dir, /is a directory, not a core file/],
      ["C source", exe, path.join(ROOT, "test-programs", "bridge_types.c"), /is not a core file \(not ELF\)/],
      ["the program itself", exe, exe, /is an ELF file of type 3 .*not a core file/],
      [
        "truncated core",
        exe,
        truncated,
        /is truncated: a memory segment ends at byte \d+, past the file's 200000/,
      ],
      ["another program's core", "/bin/true", gcore, /is not a core of this program/],
    ];
    for (const [label, prog, core, expected] of cases) {
      const r = spawnSync(process.execPath, [BIN, "core", prog, core, "0x0"], {
        encoding: "utf8",
        timeout: GDB_TIMEOUT_MS,
      });
      assert.equal(r.status, 1, `${label}: status`);
      assert.equal(r.stdout, "", `${label}: no answer`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${label}: one line: ${r.stderr}`);
      assert.match(lines[0], /^allocs core: /, label);
      assert.match(lines[0], expected, label);
    }
  });

  it("the gdb front says there is no process or core rather than answering", () => {
    const r = allocsGdb(["-ex", "alloc info 0x10", "-ex", "print 6*7", exe, path.join(dir, "nosuch.core")]);
    assert.match(r.stderr, /^alloc: no process or core file here/m);
    assert.match(r.stdout, /^\$1 = 42$/m);
  });

  it("never answers a mutated kernel core wrongly without a damage note", function () {
    const problem = kernelCoreProblem();
    if (problem) {
      console.log(`      skipped: ${problem}`);
      this.skip();
    }
    const kdir = fs.mkdtempSync(path.join(dir, "kernel-"));
    const { stdout, core } = kernelCoreWithoutAslr(exe, kdir);
    judge("kernel core", runMutants(exe, core, parseProbes(stdout), 1, dir));
    fs.rmSync(kdir, { recursive: true, force: true });
  });

  it("never answers a mutated gcore wrongly without a damage note", () => {
    judge("gcore", runMutants(exe, gcore, gprobes, 2, dir));
  });
});
