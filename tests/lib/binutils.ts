// What binutils say about a built program, as ground truth independent of typegen's own ELF and
// DWARF reading: the source line of a call (addr2line) and a function's address (nm).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";

/** Source line of the call returning to `vaddr`, by addr2line (not typegen's line table).
 * -i lists inlined frames too, innermost first; the last is the function the code belongs to. */
export function callSiteLine(exe: string, vaddr: number): number {
  const r = spawnSync("addr2line", ["-i", "-e", exe, "0x" + (vaddr - 1).toString(16)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  return Number(/:(\d+)/.exec(lines[lines.length - 1])?.[1] ?? 0);
}

/** A function's ELF address, by nm (a text symbol of that exact name). */
export function nmAddress(exe: string, sym: string): number {
  const r = spawnSync("nm", [exe], { encoding: "utf8" });
  const m = new RegExp(`^([0-9a-f]+) T ${sym}$`, "m").exec(r.stdout);
  assert.ok(m, `${sym} not in nm ${exe}`);
  return parseInt(m[1], 16);
}
