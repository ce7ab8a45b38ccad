// Libraries glibc loads for itself (iconv's gconv modules, through its internal dlopen, which the
// runtime's dlopen wrapper never sees): each must have its ELF levels as soon as it is asked
// about, however quickly the queries follow each other. The runtime once rescanned the loader's
// list at most every 10 ms, so a module loaded and asked about just after another one's rescan
// answered as a bare mapping. test-programs/levels_hidden_dso.c prints one probe per module.
import { strict as assert } from "node:assert";
import { buildProgram, parseProbes, runPreloaded } from "../lib/programs";

// gconv modules shipped by libc6 itself (/usr/lib/x86_64-linux-gnu/gconv).
const MODULES = ["EBCDIC-US", "IBM037", "IBM500", "KOI8-R", "ISO8859-7"];

describe("runtime levels: libraries glibc loads for itself", function () {
  it("knows each one's ELF file and segment as soon as it is asked about", () => {
    const exe = buildProgram("levels_hidden_dso", { api: true });
    const r = runPreloaded(exe, MODULES);
    const probes = parseProbes(r.stdout);
    MODULES.forEach((m, i) => {
      const p = probes.get(`hidden_${i + 1}`);
      assert.ok(p, `${m}: no probe\n${r.stdout}\n${r.stderr}`);
      assert.equal(p.found, "1", `${m}: iconv_open loaded the module`);
      assert.match(p.chain, /^mmap,elf_file,elf_segment(,|$)/, `${m}: chain`);
    });
  });
});
