// The seed's demo, as `npx allocs demo` shows it: four addresses, four allocators.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "../lib/programs";

interface DemoLine {
  address: bigint;
  allocator: string;
  size: number;
  type: string;
}

function parseDemo(stdout: string): DemoLine[] {
  const re = /^At (0x[0-9a-f]+) is a (\S+)-allocated object of size (\d+), type (.*)$/;
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("At "))
    .map((l) => {
      const m = re.exec(l);
      assert.ok(m, `unexpected demo line: ${l}`);
      return { address: BigInt(m[1]), allocator: m[2], size: Number(m[3]), type: m[4] };
    });
}

describe("allocs demo", () => {
  it("prints the seed's four lines with types: static main, a malloc'd int[42], main's frame, argv", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "allocs.js"), "demo"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\$ allocs cc -g -o \S+ \S+seed_demo\.c$/m);
    assert.match(r.stdout, /^\$ allocs run \S+$/m);
    const lines = parseDemo(r.stdout);
    assert.deepEqual(
      lines.map((l) => l.allocator),
      ["static", "__default_lib_malloc", "stackframe", "auxv"],
    );
    const [fn, heap, frame, argv] = lines;
    assert.ok(fn.size > 0, "main's size comes from its symbol");
    assert.equal(heap.size, 42 * 4);
    assert.ok(frame.size >= 16 && frame.size < 4096, `main's frame size ${frame.size}`);
    assert.equal(argv.size, 16, "argv holds argc (1) + 1 pointers");
    // Types (docs/metadata-format.md): main's function type; the malloc'd chunk as an int array
    // sized by the chunk (the site is `malloc(42 * sizeof(int))`, an ARRAY site of int, so
    // 168 / sizeof(int) = 42 elements: __ARR42_int$32, not the unbounded __ARR0_int$32);
    // main's FRAME type; argv as argc + 1 char pointers.
    assert.equal(fn.type, "__FUN_FROM___ARG0_int$32__ARG1___PTR___PTR_signed_char$8__FUN_TO_int$32");
    assert.equal(heap.type, "__ARR42_int$32");
    assert.equal(frame.type, "__FRAME_main");
    assert.equal(argv.type, "__ARR2___PTR_signed_char$8");
    assert.ok(
      frame.address > heap.address && argv.address > frame.address,
      "stack above heap, argv above frames",
    );

    // The same addresses from gdb, through the bridge: one block per `alloc info`.
    const gdbPart = r.stdout.split("The same process seen from gdb")[1] ?? "";
    assert.match(gdbPart, /^\$ allocs gdb .*'alloc info \(char \*\)p \+ 10'/m);
    const blocks = gdbPart.split(/\n(?=address )/).filter((b) => b.startsWith("address "));
    assert.equal(blocks.length, 3, gdbPart);
    const field = (block: string, name: string) => new RegExp(`^${name}\\s+(.*)$`, "m").exec(block)?.[1];
    const [interior, local, args] = blocks;
    assert.equal(field(interior, "allocator"), "__default_lib_malloc (live)");
    assert.equal(field(interior, "size"), "168 bytes");
    assert.equal(field(interior, "offset"), "10");
    assert.match(field(interior, "type") ?? "", /^int\[42\]/);
    assert.match(field(interior, "path") ?? "", /^\[2\] \(int\)/);
    assert.match(field(interior, "site") ?? "", /^main at \S+seed_demo\.c:5 /);
    assert.equal(field(local, "allocator"), "stackframe (live)");
    assert.equal(field(local, "size"), `${frame.size} bytes`);
    assert.match(field(local, "path") ?? "", /^p \(void \*\)/);
    assert.equal(field(args, "allocator"), "auxv (live)");
    assert.equal(field(args, "type"), "char *[2]");
  });
});
