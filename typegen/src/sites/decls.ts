// Allocation functions and their size arguments: the malloc family, and the wrappers a build
// declares in LIBALLOCS_ALLOC_FNS (liballocs syntax, read at build time like liballocs does):
// `xmalloc(Z)p xcalloc(zZ)p xrealloc(pZ)p` names each function, one letter per argument (z
// size_t, p pointer, i int, ...), a capital letter marking the size argument that decides the
// type, and the return kind after `)`. The allocation's size is the product of the size
// arguments: the capital one and any lowercase `z` (so `xcalloc(zZ)` is calloc-like).

import { cxxAllocFunctions } from "./cxx";

export interface AllocFn {
  name: string;
  /** Argument indices whose product is the allocation's size. */
  sizeArgs: number[];
  /** posix_memalign: the argument through which the pointer is returned. */
  outArg?: number;
  /** A declared wrapper (its own body's allocations are attributed to its callers). */
  wrapper: boolean;
  /** The product of the size arguments is multiplied by this (default 1). */
  factor?: number;
  /** Found in the code (wrappers.ts), not declared. */
  found?: boolean;
  /** Found: bytes its result is past the chunk's start (a header). */
  offset?: number;
}

const BUILTIN: AllocFn[] = [
  { name: "malloc", sizeArgs: [0], wrapper: false },
  { name: "calloc", sizeArgs: [0, 1], wrapper: false },
  { name: "realloc", sizeArgs: [1], wrapper: false },
  { name: "reallocarray", sizeArgs: [1, 2], wrapper: false },
  { name: "aligned_alloc", sizeArgs: [1], wrapper: false },
  { name: "memalign", sizeArgs: [1], wrapper: false },
  { name: "posix_memalign", sizeArgs: [2], outArg: 0, wrapper: false },
  { name: "valloc", sizeArgs: [0], wrapper: false },
  { name: "pvalloc", sizeArgs: [0], wrapper: false },
  { name: "strdup", sizeArgs: [], wrapper: false },
  { name: "strndup", sizeArgs: [], wrapper: false },
];

/** One declaration, e.g. "xcalloc(zZ)p"; undefined when malformed (the runtime reports those). */
export function parseAllocDecl(d: string): AllocFn | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\(([A-Za-z]*)\)([A-Za-z])$/.exec(d);
  if (!m) return undefined;
  const letters = m[2];
  const caps = [...letters].map((c, i) => (c >= "A" && c <= "Z" ? i : -1)).filter((i) => i >= 0);
  if (caps.length !== 1) return undefined;
  const sizeArgs = [...letters].map((c, i) => (i === caps[0] || c === "z" ? i : -1)).filter((i) => i >= 0);
  return { name: m[1], sizeArgs, wrapper: true };
}

/** The malloc family plus the declared wrappers of `env.LIBALLOCS_ALLOC_FNS`. */
export function allocFunctions(env: NodeJS.ProcessEnv = process.env): Map<string, AllocFn> {
  const out = new Map<string, AllocFn>();
  for (const f of BUILTIN) out.set(f.name, f);
  for (const f of cxxAllocFunctions()) out.set(f.name, f);
  for (const d of (env.LIBALLOCS_ALLOC_FNS ?? "").split(/\s+/)) {
    if (!d) continue;
    const f = parseAllocDecl(d);
    if (f && !out.has(f.name)) out.set(f.name, f);
  }
  return out;
}

/** A declared suballocator (LIBALLOCS_SUBALLOC_FNS, `pool_alloc(pZ)p`) or its free function
 * (LIBALLOCS_SUBFREE_FNS, `pool_free(pP)->pool_alloc`): each direct call is recorded with
 * ALLOCS_SITE_SUBALLOC, and the runtime redirects it to register or drop a pool object. */
export interface SubDecl extends AllocFn {
  free: boolean;
  /** The number of arguments declared. */
  nargs: number;
}

function parseSubDecl(d: string, free: boolean): SubDecl | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\(([zpiZPI]+)\)([zpi]?)(->[A-Za-z_][A-Za-z0-9_]*)?$/.exec(d);
  if (!m) return undefined;
  const letters = m[2];
  const caps = [...letters].map((c, i) => (c >= "A" && c <= "Z" ? i : -1)).filter((i) => i >= 0);
  if (caps.length !== 1 || (free ? letters[caps[0]] !== "P" : letters[caps[0]] === "P" || m[3] !== "p"))
    return undefined;
  const sizeArgs = free
    ? []
    : [...letters].map((c, i) => (i === caps[0] || c === "z" ? i : -1)).filter((i) => i >= 0);
  return { name: m[1], sizeArgs, wrapper: false, free, nargs: letters.length };
}

/** The suballocators and their free functions declared in `env` (malformed ones are left to the
 * runtime, which says what is wrong with each). */
export function suballocFunctions(env: NodeJS.ProcessEnv = process.env): Map<string, SubDecl> {
  const out = new Map<string, SubDecl>();
  const vars: [string | undefined, boolean][] = [
    [env.LIBALLOCS_SUBALLOC_FNS, false],
    [env.LIBALLOCS_SUBFREE_FNS, true],
  ];
  for (const [v, free] of vars)
    for (const d of (v ?? "").split(/\s+/)) {
      const f = d ? parseSubDecl(d, free) : undefined;
      if (f && !out.has(f.name)) out.set(f.name, f);
    }
  return out;
}

/** The declarations that change what typegen writes, as one string for a cache key ("" when none). */
export function suballocKey(env: NodeJS.ProcessEnv = process.env): string {
  return [...suballocFunctions(env).keys()].sort().join(" ");
}
