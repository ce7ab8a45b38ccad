// Inflated copies of compressed separate debug files, for gdb. Debian's libc6-dbg ships libc's
// DWARF zlib-compressed (SHF_COMPRESSED): gdb inflates ~10 MB of it in every session, on its
// critical path (re-setting a file:line breakpoint reads every unit's line header when libc
// loads; the first stop's locals expand libc's startup unit), ~45 ms of gdb's CPU per session
// with its index cache on. The adapter keeps one inflated copy per build-id in its cache
// (`$XDG_CACHE_HOME/allocs/debug/.build-id/xx/yyyy.debug`, made once with binutils' objcopy) and
// puts that directory in front of gdb's debug-file-directory; gdb checks the build-id as usual.
// Best effort: without objcopy, a full disk or a read-only cache, gdb reads the originals.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { SHF_COMPRESSED } from "../../../typegen/src/elf/constants";
import { buildIdPaths } from "../../../typegen/src/elf/debuglink";
import { ElfFile } from "../../../typegen/src/elf/elf-file";
import { buildId } from "../../../typegen/src/elf/notes";

/** The directory of inflated copies (a debug-file-directory: `.build-id/xx/yyyy.debug` below it). */
export function inflatedDebugDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(cache, "allocs", "debug");
}

/** True when the file's DWARF sections are compressed (SHF_COMPRESSED or .zdebug_*). */
export function hasCompressedDwarf(file: string): boolean {
  const elf = ElfFile.open(file);
  return elf.sections.some(
    (s) =>
      (s.name.startsWith(".debug_") && (s.flags & SHF_COMPRESSED) !== 0) || s.name.startsWith(".zdebug_"),
  );
}

/** Makes the missing inflated copies of the objects' build-id debug files (those whose DWARF is
 * compressed) and says whether the directory holds any copy the session will use. */
export function ensureInflatedDebug(
  objects: readonly string[],
  dir: string,
  debugDirs: readonly string[] = ["/usr/lib/debug"],
): boolean {
  let any = false;
  for (const object of objects) {
    try {
      const id = buildId(ElfFile.open(object));
      if (id === undefined) continue;
      const [copy] = buildIdPaths(id, { debugDirs: [dir] });
      if (fs.existsSync(copy)) {
        any = true;
        continue;
      }
      const original = buildIdPaths(id, { debugDirs: [...debugDirs] }).find((p) => fs.existsSync(p));
      if (original === undefined || !hasCompressedDwarf(original)) continue;
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      // written beside, then renamed: a concurrent session never sees half a file
      const tmp = `${copy}.${process.pid}.tmp`;
      const r = spawnSync("objcopy", ["--decompress-debug-sections", original, tmp], { timeout: 60_000 });
      if (r.status === 0 && fs.existsSync(tmp)) {
        fs.renameSync(tmp, copy);
        any = true;
      } else fs.rmSync(tmp, { force: true });
    } catch {
      // not ELF, unreadable, no space: gdb reads the original
    }
  }
  return any;
}
