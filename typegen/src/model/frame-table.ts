// The functions, their parameters and locals, and the statics of one unit as the DIE walk
// collects them: numeric columns with names as string references (dwarf/str-ref.ts), so a
// unit collected on a worker thread crosses to the uniquing thread as one buffer. `materialize`
// turns them into the records uniquing takes (raw.ts), names resolved.

import { EMPTY_STR, NO_STR, StrSpace, resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import {
  LS_COLS,
  LS_END,
  LS_FORM,
  LS_HI,
  LS_LO,
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

/** Local columns. */
const L_FN = 0;
const L_PARAM = 1;
const L_NAME = 2;
const L_TYPE = 3;
/** Location: 0 none, 1 block, 2 list; then form, start, end, and the function's range. */
const L_LOC = 4;
const L_FORM = 5;
const L_START = 6;
const L_END = 7;
const L_LO = 8;
const L_HI = 9;
const L_COLS = 10;

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

function grow(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

export class FrameTable {
  fns = 0;
  locals = 0;
  statics = 0;
  f = new Float64Array(64 * F_COLS);
  l = new Float64Array(256 * L_COLS);
  s = new Float64Array(64 * S_COLS);

  reset(): void {
    this.fns = this.locals = this.statics = 0;
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
    if ((i + 1) * F_COLS > this.f.length) this.f = grow(this.f, this.f.length * 2);
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

  addLocal(
    fn: number,
    isParam: boolean,
    name: number,
    type: number,
    kind: number,
    form: number,
    start: number,
    end: number,
    lo: number,
    hi: number,
  ): void {
    const i = this.locals++;
    if ((i + 1) * L_COLS > this.l.length) this.l = grow(this.l, this.l.length * 2);
    const l = this.l;
    const o = i * L_COLS;
    l[o + L_FN] = fn;
    l[o + L_PARAM] = isParam ? 1 : 0;
    l[o + L_NAME] = name;
    l[o + L_TYPE] = type;
    l[o + L_LOC] = kind;
    l[o + L_FORM] = form;
    l[o + L_START] = start;
    l[o + L_END] = end;
    l[o + L_LO] = lo;
    l[o + L_HI] = hi;
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
    if ((i + 1) * S_COLS > this.s.length) this.s = grow(this.s, this.s.length * 2);
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
   * variable types are still raw DIE keys for uniquing to resolve.
   */
  materialize(u: Unit, d: StrSpace): { functions: LazyFunction[]; statics: RawStatic[] } {
    const store = new LocalStore(u, d, this.localRows());
    const first = this.firstLocals;
    const functions: LazyFunction[] = [];
    const f = this.f;
    for (let i = 0; i < this.fns; i++) {
      const o = i * F_COLS;
      const fb = f[o + F_FB];
      const fn = new LazyFunction(
        nameOr(d, f[o + F_NAME], ""),
        f[o + F_TYPE],
        f[o + F_LOW],
        f[o + F_HIGH],
        f[o + F_EXTERNAL] !== 0,
        u.name,
        fb === LOC_NONE ? null : u,
        fb === LOC_BLOCK,
        f[o + F_FB_FORM],
        f[o + F_FB_START],
        f[o + F_FB_END],
        store,
        first[i],
        first[i + 1] - first[i],
      );
      const linkage = resolveStr(d, f[o + F_LINKAGE]);
      if (linkage) fn.linkageName = linkage;
      functions.push(fn);
    }
    const statics: RawStatic[] = [];
    const s = this.s;
    for (let i = 0; i < this.statics; i++) {
      const o = i * S_COLS;
      const st: RawStatic = {
        name: nameOr(d, s[o + S_NAME], ""),
        type: s[o + S_TYPE],
        addr: s[o + S_ADDR],
        external: s[o + S_EXTERNAL] !== 0,
        tls: s[o + S_TLS] !== 0,
        unit: u.name,
      };
      if (s[o + S_HAS_SCOPE]) st.scope = nameOr(d, s[o + S_SCOPE], "");
      statics.push(st);
    }
    return { functions, statics };
  }

  /** Start of each function's rows in `localRows` (and the end, at index fns). */
  private firstLocals = new Int32Array(0);

  /** The locals as LocalStore rows, grouped by function in DIE order (a counting sort). */
  private localRows(): Float64Array {
    const first = (this.firstLocals = new Int32Array(this.fns + 1));
    const l = this.l;
    for (let i = 0; i < this.locals; i++) first[l[i * L_COLS + L_FN] + 1]++;
    for (let i = 0; i < this.fns; i++) first[i + 1] += first[i];
    const next = first.slice(0, this.fns);
    const rows = new Float64Array(this.locals * LS_COLS);
    for (let i = 0; i < this.locals; i++) {
      const o = i * L_COLS;
      const r = next[l[o + L_FN]]++ * LS_COLS;
      rows[r + LS_PARAM] = l[o + L_PARAM];
      rows[r + LS_NAME] = l[o + L_NAME];
      rows[r + LS_TYPE] = l[o + L_TYPE];
      rows[r + LS_TYPEDEF] = NO_STR;
      rows[r + LS_LOC] = l[o + L_LOC];
      rows[r + LS_FORM] = l[o + L_FORM];
      rows[r + LS_START] = l[o + L_START];
      rows[r + LS_END] = l[o + L_END];
      rows[r + LS_LO] = l[o + L_LO];
      rows[r + LS_HI] = l[o + L_HI];
    }
    return rows;
  }

  /** The used part of every column, in one buffer (to post to another thread). */
  pack(): Float64Array {
    const out = new Float64Array(3 + (this.fns * F_COLS + this.locals * L_COLS + this.statics * S_COLS));
    out[0] = this.fns;
    out[1] = this.locals;
    out[2] = this.statics;
    let p = 3;
    out.set(this.f.subarray(0, this.fns * F_COLS), p);
    p += this.fns * F_COLS;
    out.set(this.l.subarray(0, this.locals * L_COLS), p);
    p += this.locals * L_COLS;
    out.set(this.s.subarray(0, this.statics * S_COLS), p);
    return out;
  }

  /** The table `pack` made (views into `buf`, no copy). */
  static unpack(buf: Float64Array): FrameTable {
    const t = new FrameTable();
    t.fns = buf[0];
    t.locals = buf[1];
    t.statics = buf[2];
    let p = 3;
    t.f = buf.subarray(p, (p += t.fns * F_COLS)) as Float64Array<ArrayBuffer>;
    t.l = buf.subarray(p, (p += t.locals * L_COLS)) as Float64Array<ArrayBuffer>;
    t.s = buf.subarray(p, (p += t.statics * S_COLS)) as Float64Array<ArrayBuffer>;
    return t;
  }
}

/** The string `ref` names, or `fallback` when there is none (EMPTY_STR is ""). */
function nameOr(d: StrSpace, ref: number, fallback: string): string {
  if (ref === NO_STR) return fallback;
  if (ref === EMPTY_STR) return "";
  return resolveStr(d, ref) ?? fallback;
}
