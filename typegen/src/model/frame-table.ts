// The functions, their parameters and locals, and the statics of one unit as the DIE walk
// collects them: numeric columns with names as string references (dwarf/str-ref.ts), no object
// per DIE. `materialize` turns them into what uniquing takes: a LazyFunction per function, its
// variables left as rows (lazy-locations.ts), and the statics' records (raw.ts).

import { grownF64, smi } from "../bytes";
import { EMPTY_STR, NO_STR, StrSpace, resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import {
  LS_COLS,
  LS_END,
  LS_FN,
  LS_FORM,
  LS_LOC,
  LS_NAME,
  LS_PARAM,
  LS_START,
  LS_TYPE,
  LS_TYPEDEF,
  LazyFunction,
  LocalStore,
} from "./lazy-locations";
import { RawStatic } from "./raw";

/** Function columns, in order. */
/** The name (or the linkage name, or EMPTY_STR: what a scope is called), then the linkage name. */
const F_NAME = 0;
const F_LINKAGE = 1;
const F_TYPE = 2;
const F_LOW = 3;
const F_HIGH = 4;
const F_EXTERNAL = 5;
/** Frame base: 0 none, 1 block, 2 list; then form, start, end. */
const F_FB = 6;
const F_FB_FORM = 7;
const F_FB_START = 8;
const F_FB_END = 9;
const F_COLS = 10;

/** Static columns. */
const S_NAME = 0;
const S_TYPE = 1;
const S_ADDR = 2;
const S_EXTERNAL = 3;
const S_TLS = 4;
/** The enclosing function's name (a string reference), for function-scope statics. */
const S_HAS_SCOPE = 5;
const S_SCOPE = 6;
const S_COLS = 7;

/** Location kinds in the LOC / FB columns. */
export const LOC_NONE = 0;
export const LOC_BLOCK = 1;
export const LOC_LIST = 2;

export class FrameTable {
  fns = 0;
  locals = 0;
  statics = 0;
  f = new Float64Array(64 * F_COLS);
  l = new Float64Array(256 * LS_COLS);
  s = new Float64Array(64 * S_COLS);

  constructor() {
    // Each column array is replaced when it grows. Replacing each once now makes V8 treat the
    // fields as mutable from the start: else the first growth, met after `materialize` was
    // compiled assuming them constant, deoptimised it and made it compile again.
    this.f = grownF64(this.f, this.f.length);
    this.l = grownF64(this.l, this.l.length);
    this.s = grownF64(this.s, this.s.length);
  }

  reset(): void {
    this.fns = this.locals = this.statics = 0;
  }

  /** Doubles the function rows' room (the native walk asks when it is full). */
  growFunctions(): void {
    this.f = grownF64(this.f, this.f.length * 2);
  }

  /** Doubles the statics' room. */
  growStatics(): void {
    this.s = grownF64(this.s, this.s.length * 2);
  }

  /** Doubles the local rows' room. */
  growLocals(): void {
    this.l = grownF64(this.l, this.l.length * 2);
  }

  /** Adds a function; returns its index. Its frame base is set by `setFrameBase`. */
  addFunction(
    name: number,
    linkage: number,
    type: number,
    lo: number,
    hi: number,
    external: boolean,
  ): number {
    const i = this.fns++;
    if ((i + 1) * F_COLS > this.f.length) this.f = grownF64(this.f, this.f.length * 2);
    const f = this.f;
    const o = i * F_COLS;
    f[o + F_NAME] = name;
    f[o + F_LINKAGE] = linkage;
    f[o + F_TYPE] = type;
    f[o + F_LOW] = lo;
    f[o + F_HIGH] = hi;
    f[o + F_EXTERNAL] = external ? 1 : 0;
    f[o + F_FB] = LOC_NONE;
    return i;
  }

  setFrameBase(fn: number, kind: number, form: number, start: number, end: number): void {
    const o = fn * F_COLS;
    this.f[o + F_FB] = kind;
    this.f[o + F_FB_FORM] = form;
    this.f[o + F_FB_START] = start;
    this.f[o + F_FB_END] = end;
  }

  /** Adds a parameter or local of function `fn` (a row as LocalStore keeps it). */
  addLocal(
    fn: number,
    isParam: boolean,
    name: number,
    type: number,
    kind: number,
    form: number,
    start: number,
    end: number,
  ): void {
    const i = this.locals++;
    if ((i + 1) * LS_COLS > this.l.length) this.l = grownF64(this.l, this.l.length * 2);
    const l = this.l;
    const o = i * LS_COLS;
    l[o + LS_FN] = fn;
    l[o + LS_PARAM] = isParam ? 1 : 0;
    l[o + LS_NAME] = name;
    l[o + LS_TYPE] = type;
    l[o + LS_TYPEDEF] = NO_STR;
    l[o + LS_LOC] = kind;
    l[o + LS_FORM] = form;
    l[o + LS_START] = start;
    l[o + LS_END] = end;
  }

  /** `scope`: the enclosing function's name reference, or NO_STR at file scope. */
  addStatic(
    name: number,
    type: number,
    addr: number,
    external: boolean,
    tls: boolean,
    scope: number | null,
  ): void {
    const i = this.statics++;
    if ((i + 1) * S_COLS > this.s.length) this.s = grownF64(this.s, this.s.length * 2);
    const s = this.s;
    const o = i * S_COLS;
    s[o + S_NAME] = name;
    s[o + S_TYPE] = type;
    s[o + S_ADDR] = addr;
    s[o + S_EXTERNAL] = external ? 1 : 0;
    s[o + S_TLS] = tls ? 1 : 0;
    s[o + S_HAS_SCOPE] = scope === null ? 0 : 1;
    s[o + S_SCOPE] = scope ?? NO_STR;
  }

  /**
   * The functions and statics of unit `u`, names resolved. The functions' parameters and locals
   * stay rows (a LocalStore, grouped by function) until someone asks for them; function and
   * variable types are still raw DIE keys for uniquing to resolve. Each record is made by a
   * small method of its own, called per record: V8 compiles those, not this loop.
   */
  materialize(u: Unit, d: StrSpace): { functions: LazyFunction[]; statics: RawStatic[] } {
    const store = new LocalStore(u, d, this.localRows());
    const functions: LazyFunction[] = [];
    for (let i = 0; i < this.fns; i++) functions.push(this.makeFunction(u, d, store, i));
    const statics: RawStatic[] = [];
    for (let i = 0; i < this.statics; i++) statics.push(this.makeStatic(u, d, i));
    return { functions, statics };
  }

  private makeFunction(u: Unit, d: StrSpace, store: LocalStore, i: number): LazyFunction {
    const f = this.f;
    const o = i * F_COLS;
    const fb = f[o + F_FB];
    const first = this.firstLocals;
    const fn = new LazyFunction(
      nameOr(d, f[o + F_NAME], ""),
      smi(f[o + F_TYPE]),
      smi(f[o + F_LOW]),
      smi(f[o + F_HIGH]),
      f[o + F_EXTERNAL] !== 0,
      u.name,
      fb === LOC_NONE ? null : u,
      fb === LOC_BLOCK,
      smi(f[o + F_FB_FORM]),
      smi(f[o + F_FB_START]),
      smi(f[o + F_FB_END]),
      store,
      first[i],
      first[i + 1] - first[i],
    );
    const linkage = resolveStr(d, f[o + F_LINKAGE]);
    if (linkage) fn.linkageName = linkage;
    return fn;
  }

  private makeStatic(u: Unit, d: StrSpace, i: number): RawStatic {
    const s = this.s;
    const o = i * S_COLS;
    const st: RawStatic = {
      name: nameOr(d, s[o + S_NAME], ""),
      type: smi(s[o + S_TYPE]),
      addr: smi(s[o + S_ADDR]),
      external: s[o + S_EXTERNAL] !== 0,
      tls: s[o + S_TLS] !== 0,
      unit: u.name,
    };
    if (s[o + S_HAS_SCOPE]) st.scope = nameOr(d, s[o + S_SCOPE], "");
    return st;
  }

  /** Start of each function's rows in `localRows` (and the end, at index fns). */
  private firstLocals = new Int32Array(0);

  /**
   * The locals as LocalStore rows, grouped by function in DIE order: a copy of the table's rows,
   * reordered (a counting sort) only when functions nest (GNU C nested functions interleave).
   */
  private localRows(): Float64Array {
    const n = this.locals;
    const first = (this.firstLocals = new Int32Array(this.fns + 1));
    const l = this.l;
    let grouped = true;
    for (let i = 0; i < n; i++) {
      const fn = l[i * LS_COLS + LS_FN];
      first[fn + 1]++;
      if (i > 0 && fn < l[(i - 1) * LS_COLS + LS_FN]) grouped = false;
    }
    for (let i = 0; i < this.fns; i++) first[i + 1] += first[i];
    if (grouped) return l.slice(0, n * LS_COLS);
    const next = first.slice(0, this.fns);
    const rows = new Float64Array(n * LS_COLS);
    for (let i = 0; i < n; i++)
      rows.set(l.subarray(i * LS_COLS, (i + 1) * LS_COLS), next[l[i * LS_COLS + LS_FN]]++ * LS_COLS);
    return rows;
  }
}

/** The string `ref` names, or `fallback` when there is none (EMPTY_STR is ""). */
function nameOr(d: StrSpace, ref: number, fallback: string): string {
  if (ref === NO_STR) return fallback;
  if (ref === EMPTY_STR) return "";
  return resolveStr(d, ref) ?? fallback;
}
