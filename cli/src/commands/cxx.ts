// `allocs c++ ARGS...`: `allocs cc` for C++ (g++ by default; ALLOCS_CXX=clang++ or any other
// C++ driver on request), and the rule `allocs cc` follows when an input is C++: a C++ program
// must be linked by the C++ driver (libstdc++, and `__gxx_personality_v0` for exceptions), so
// `allocs cc foo.cpp` runs g++ where ALLOCS_CC names gcc (clang++ for clang, c++ for cc).
// C++ allocation sites are typed from DWARF after the link (typegen/src/sites/cxx.ts): the
// clang AST route reads C only.
import { ccCommand } from "./cc";

const CXX_SOURCE = /\.(cc|cp|cxx|cpp|CPP|c\+\+|C|ii)$/;

/** Does the command line compile or link C++ (a C++ source, or `-x c++`)? */
export function hasCxxInput(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if ((a === "-x" && /^c\+\+/.test(args[i + 1] ?? "")) || /^-xc\+\+/.test(a)) return true;
    if (!a.startsWith("-") && CXX_SOURCE.test(a) && (i === 0 || args[i - 1] !== "-o")) return true;
  }
  return false;
}

/** The C++ driver of a C compiler: gcc -> g++, gcc-12 -> g++-12, clang -> clang++, cc -> c++;
 * a name it does not know stays as it is. */
export function cxxDriverOf(cc: string): string {
  const dir = cc.includes("/") ? cc.slice(0, cc.lastIndexOf("/") + 1) : "";
  const base = cc.slice(dir.length);
  const m = /^(.*-)?(gcc|clang|cc)(-[\d.]+)?$/.exec(base);
  if (!m) return cc;
  const driver = { gcc: "g++", clang: "clang++", cc: "c++" }[m[2]] ?? m[2];
  return `${dir}${m[1] ?? ""}${driver}${m[3] ?? ""}`;
}

export async function cxxCommand(args: string[]): Promise<number> {
  return ccCommand(args, process.env.ALLOCS_CXX ?? "g++");
}
