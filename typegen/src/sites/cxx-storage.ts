// libstdc++ keeps a container node's value and make_shared's object in raw bytes:
// `__gnu_cxx::__aligned_membuf<V>` (a map's or list's node, `_M_storage`) and
// `__gnu_cxx::__aligned_buffer<V>` (`_Sp_counted_ptr_inplace<T, ...>::_M_impl._M_storage`) hold
// `unsigned char _M_storage[sizeof(V)]` (or std::aligned_storage's union of such bytes), which
// DWARF describes as bytes. A field path through a
// node or a shared block would end in those bytes; typed as V, it reaches the value's own
// members (`[0]._M_storage._M_storage.second` of a map node, `.radius` of a make_shared Circle).
// V is found by its spelling in the template's name (the same compiler wrote both) and its size.

import { CType, TypeModel } from "../model/types";

const ALIGNED_STORAGE = /^__gnu_cxx::__aligned_(membuf|buffer)<(.+)>$/;
/** gcc's names of base types in template arguments (DWARF's) -> their C spelling in the model. */
const BASE_SPELLING: Record<string, string> = {
  "long int": "long",
  "long unsigned int": "unsigned long",
  "short int": "short",
  "short unsigned int": "unsigned short",
  "long long int": "long long",
  "long long unsigned int": "unsigned long long",
};

/** Retypes the `_M_storage` byte array of each aligned buffer in the model to its V; returns
 * how many it retyped. */
export function typeAlignedStorage(model: TypeModel): number {
  const types = model.types;
  const bySpelling = new Map<string, CType[]>();
  const note = (k: string | null | undefined, t: CType): void => {
    if (!k) return;
    const l = bySpelling.get(k) ?? [];
    l.push(t);
    bySpelling.set(k, l);
  };
  for (const t of types) {
    if (t.kind === "struct" || t.kind === "union") note(t.tag, t);
    else if (t.kind === "base" || t.kind === "pointer" || t.kind === "enum") note(t.cName, t);
  }
  let n = 0;
  for (const t of types) {
    const m = t.kind === "struct" && t.tag ? ALIGNED_STORAGE.exec(t.tag) : null;
    if (!m) continue;
    const storage = t.members?.find((x) => x.name === "_M_storage");
    const bytes = storage ? types[storage.type] : undefined;
    // bytes: `unsigned char[N]` (membuf), or aligned_storage's union of such bytes (buffer)
    if (!storage || !bytes?.byteSize || !["array", "union", "struct"].includes(bytes.kind)) continue;
    const arg = m[2].trim();
    const v = (bySpelling.get(arg) ?? bySpelling.get(BASE_SPELLING[arg] ?? ""))?.find(
      (c) => c.byteSize === bytes.byteSize && c.complete !== false && c.id !== t.id,
    );
    if (!v) continue;
    storage.type = v.id;
    n++;
  }
  return n;
}
