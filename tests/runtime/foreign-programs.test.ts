// The runtime is preloaded into every process, so it must never change what a program does.
// Real Debian programs nobody here wrote are run with and without it; stdout, stderr and exit
// status must be byte-identical. Each program exercises something different: python3 (its own
// mmap'd arenas, dlopen of extension modules), git (many short-lived children, pipes), gcc (a
// driver spawning cc1, as and collect2/ld, all preloaded too), sqlite3 (mmap I/O), lua5.4.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hasCommand, runPlain, runPreloaded, RunOptions, RunResult } from "../lib/programs";

function which(cmd: string): string {
  // Debian's own programs first (not a pyenv shim or a locally built tool earlier in PATH).
  if (fs.existsSync(path.join("/usr/bin", cmd))) return path.join("/usr/bin", cmd);
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  return cmd;
}

function assertSame(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const exe = which(cmd);
  const plain = runPlain(exe, args, opts);
  const pre = runPreloaded(exe, args, opts);
  assert.equal(pre.signal, plain.signal, `${cmd}: signal`);
  assert.equal(pre.status, plain.status, `${cmd}: exit status`);
  assert.equal(pre.stderr, plain.stderr, `${cmd}: stderr`);
  assert.equal(pre.stdout, plain.stdout, `${cmd}: stdout`);
  return pre;
}

describe("runtime: real programs behave identically with the runtime preloaded", function () {
  this.timeout(120_000);
  let tmp = "";

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "allocs-foreign-"));
  });

  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("python3 running a script that allocates, maps and imports extension modules", function () {
    if (!fs.existsSync("/usr/bin/python3")) this.skip();
    const script = [
      "import json, hashlib, mmap, ctypes, sqlite3, decimal, threading",
      "d = {i: str(i) * 10 for i in range(20000)}",
      "s = json.dumps(d)",
      "m = mmap.mmap(-1, 1 << 20); m[:5] = b'hello'; print(m[:5]); m.close()",
      "t = [threading.Thread(target=lambda: sum(range(100000))) for _ in range(4)]",
      "[x.start() for x in t]; [x.join() for x in t]",
      "print(len(s), hashlib.sha256(s.encode()).hexdigest()[:16], decimal.Decimal(1) / 7)",
      "print(ctypes.CDLL(None).getpid() > 0)",
    ].join("\n");
    const r = assertSame("python3", ["-c", script]);
    assert.match(r.stdout, /b'hello'/);
  });

  it("git --version, and git init/commit/log in a temporary repository", function () {
    if (!hasCommand("git")) this.skip();
    const repo = path.join(tmp, "repo");
    fs.mkdirSync(repo);
    const env = {
      GIT_AUTHOR_NAME: "a",
      GIT_AUTHOR_EMAIL: "a@example.com",
      GIT_COMMITTER_NAME: "a",
      GIT_COMMITTER_EMAIL: "a@example.com",
      GIT_AUTHOR_DATE: "2024-01-01T00:00:00Z",
      GIT_COMMITTER_DATE: "2024-01-01T00:00:00Z",
      HOME: tmp,
    };
    assertSame("git", ["--version"]);
    // Set up once (without the runtime), then compare read-only commands.
    runPlain(which("git"), ["init", "-q", "-b", "main", repo], { env });
    fs.writeFileSync(path.join(repo, "f.txt"), "one\ntwo\n");
    runPlain(which("git"), ["-C", repo, "add", "f.txt"], { env });
    runPlain(which("git"), ["-C", repo, "commit", "-q", "-m", "first"], { env });
    const r = assertSame("git", ["-C", repo, "log", "--stat", "--format=%H %an %s"], { env });
    assert.match(r.stdout, /first/);
    assertSame("git", ["-C", repo, "status", "--porcelain=v2", "--branch"], { env });
  });

  it("gcc compiling and linking a small file (driver, cc1, as, ld all preloaded)", function () {
    if (!hasCommand("gcc")) this.skip();
    const src = path.join(tmp, "small.c");
    fs.writeFileSync(src, '#include <stdio.h>\nint main(void) { puts("hi"); return 3; }\n');
    const out = path.join(tmp, "small");
    assertSame("gcc", ["-O2", "-Wall", "-o", out, src], { cwd: tmp });
    const run = runPlain(out);
    assert.equal(run.status, 3);
    // A compile error: diagnostics on stderr, exit status 1, identical.
    const bad = path.join(tmp, "bad.c");
    fs.writeFileSync(bad, "int main(void) { return undeclared; }\n");
    const r = assertSame("gcc", ["-c", "-o", path.join(tmp, "bad.o"), bad], { cwd: tmp });
    assert.equal(r.status, 1);
  });

  it("sqlite3 running a few statements", function () {
    if (!hasCommand("sqlite3")) this.skip();
    const sql = [
      "create table t(a integer primary key, b text);",
      "with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)",
      "  insert into t select x, hex(randomblob(16)) from c;",
      "select count(*), sum(a) from t;",
      "select a from t where a % 1000 = 0;",
      "pragma integrity_check;",
    ].join("\n");
    const db = path.join(tmp, "t.db");
    const r1 = runPlain(which("sqlite3"), [db], { input: sql });
    fs.rmSync(db);
    const r2 = runPreloaded(which("sqlite3"), [db], { input: sql });
    assert.equal(r2.status, r1.status);
    assert.equal(r2.stderr, r1.stderr);
    assert.equal(r2.stdout, r1.stdout);
    assert.match(r2.stdout, /5000\|12502500/);
    assertSame("sqlite3", [":memory:", "select 1 + 1;", "select sqlite_version() is not null;"]);
  });

  it("lua5.4 -e", function () {
    if (!hasCommand("lua5.4")) this.skip();
    assertSame("lua5.4", [
      "-e",
      "local t = {} for i = 1, 100000 do t[i] = tostring(i) end print(#t, t[99999])",
    ]);
    const r = assertSame("lua5.4", ["-e", "error('boom')"]);
    assert.notEqual(r.status, 0);
  });
});
