// The DIE walk in C (typegen/native/, a Node-API addon): collect.ts's walk of a unit, copied
// statement for statement, filling the same RawTable / FrameTable / CodeDies columns. The JS
// walk stays the reference and the fallback: a unit the C walker does not take exactly as the
// JS does (anything it does not copy, any malformed data, any error) is handed back and walked
// in JS, so every error and corner case stays as it was. No addon (not built, fails to load) or
// ALLOCS_TYPEGEN_NATIVE=off: the JS walk everywhere. ALLOCS_TYPEGEN_NATIVE=verbose: each unit
// handed back is named on stderr with why.
//
// Why: the DIE walk was a fifth of typegen's main thread on libc's debug file, and TurboFan's
// background compiles of the DIE reader a large share of the rest (typegen/native/README.md).

import { CodeDies, Dwarf } from "../dwarf/dwarf";
import { Addon, nativeAddon } from "../dwarf/native-addon";
export { NATIVE_ADDON, nativeAddon } from "../dwarf/native-addon";
import { resolveStr } from "../dwarf/str-ref";
import { Unit } from "../dwarf/units";
import { CodeReader } from "./collect-code";
import { FrameTable } from "./frame-table";
import { RawTable } from "./raw-table";

/** addon.c / nw.h results. */
const NW_OK = 0;
const NW_FALLBACK = 1;
const NW_ROOM_RECORDS = 2;
const NW_ROOM_ITEMS = 3;
const NW_ROOM_FNS = 4;
const NW_ROOM_LOCALS = 5;
const NW_ROOM_CODEDIES = 6;
const NW_ROOM_SCOPES = 7;
const NW_ROOM_STATICS = 8;
/** nw.h NW_ANON_NAMESPACE: a scope entry that names an unnamed namespace. */
const ANON_NAMESPACE = -1.5;

/** Units walked in C and handed back to JS, since the process started (tests read these). */
export const nativeStats = { units: 0, fallbacks: 0 };

const files = new WeakMap<Dwarf, { handle: object; index: Map<Unit, number> }>();

/** What the C walker reads of `dwarf` (addon.c openFile; the sanitizer driver's input too). */
export interface NativeInputs {
  sections: Buffer[];
  typesBase: number;
  altInfoBase: number;
  hasAlt: boolean;
  /** UNIT_STRIDE numbers per unit, in Dwarf.units order (addon.c). */
  units: Float64Array;
}

export const UNIT_STRIDE = 12;

export function nativeInputs(dwarf: Dwarf): NativeInputs {
  const m = dwarf.main;
  const sections = [
    m.get("info"),
    m.get("types"),
    m.get("abbrev"),
    m.get("str"),
    m.get("line_str"),
    m.get("str_offsets"),
    m.get("addr"),
    m.get("loc"),
    m.get("loclists"),
    m.get("ranges"),
    m.get("rnglists"),
  ];
  const units = new Float64Array(dwarf.units.length * UNIT_STRIDE);
  let typesBase = m.get("info").length;
  let altInfoBase = -1;
  dwarf.units.forEach((u, i) => {
    const src = u.src.isAlt ? 2 : u.src.secName === ".debug_types" ? 1 : 0;
    if (src === 1) typesBase = u.src.base;
    if (src === 0) altInfoBase = u.src.altInfoBase;
    units.set(
      [
        src,
        u.offset,
        u.end,
        u.dieOffset,
        u.version,
        u.addrSize,
        u.offsetSize,
        u.abbrevOffset,
        u.typeSignature !== undefined ? 1 : 0,
        // A type unit's signature as two 32-bit halves, and where its type DIE is.
        Number((u.typeSignature ?? 0n) >> 32n),
        Number((u.typeSignature ?? 0n) & 0xffffffffn),
        u.typeOffset,
      ],
      i * UNIT_STRIDE,
    );
  });
  return { sections, typesBase, altInfoBase, hasAlt: !!dwarf.alt, units };
}

/** The addon's handle of `dwarf`'s sections and units (made once per Dwarf). */
function fileOf(a: Addon, dwarf: Dwarf): { handle: object; index: Map<Unit, number> } {
  let f = files.get(dwarf);
  if (f) return f;
  const index = new Map<Unit, number>();
  dwarf.units.forEach((u, i) => index.set(u, i));
  const n = nativeInputs(dwarf);
  const handle = a.openFile(n.sections, n.typesBase, n.altInfoBase, n.hasAlt ? 1 : 0, n.units);
  f = { handle, index };
  files.set(dwarf, f);
  return f;
}

/** What DieCursor.initUnit reads from a unit's root DIE, as the C walker read it (addon.c). */
function initUnit(u: Unit, s: Float64Array): void {
  u.initialised = true;
  u.rootTag = s[11];
  u.strOffsetsBase = s[12];
  u.addrBase = s[13];
  u.rnglistsBase = s[14];
  u.loclistsBase = s[15];
  u.stmtList = s[16];
  u.language = s[17];
  u.lowPc = s[18];
  u.nameRef = s[19];
  u.compDirRef = s[20];
  u.producerRef = s[21];
}

/** Frees the C walker's tables of `dwarf` once its walks are done (the model is built). */
export function releaseNative(dwarf: Dwarf): void {
  const f = files.get(dwarf);
  const a = nativeAddon();
  if (f && a) a.release(f.handle);
}

/** One Collector's native walker: its tables' columns bound, the CodeReader's state carried. */
export class NativeWalk {
  private readonly walker: object;
  private readonly index: Map<Unit, number>;
  /** [records, items, functions, locals, CodeDies length, scope entries, synth, locIsBlock,
   * locForm, locStart, locEnd]: in and out of each walk (addon.c); then out, the unit's root DIE
   * facts (`initUnit`); then the statics' count, in and out. */
  private readonly state = new Float64Array(23);
  private scopes = new Float64Array(1024);
  private bound: (Float64Array | Int32Array)[] = [];
  private readonly verbose = process.env.ALLOCS_TYPEGEN_NATIVE === "verbose";
  private static readonly noDies = new CodeDies();

  constructor(
    private readonly a: Addon,
    private readonly dwarf: Dwarf,
    private readonly code: CodeReader,
  ) {
    const f = fileOf(a, dwarf);
    this.index = f.index;
    // The call back first gives the unit its root DIE facts (its bases: location lists,
    // .debug_addr), which the addon wrote into the state before the call.
    this.walker = a.newWalker(f.handle, (form, start, lo, hi) => {
      this.rootFirst();
      return code.nativeListStatic(form, start, lo, hi);
    });
  }

  /** The unit being walked. */
  private unit: Unit | null = null;

  private rootFirst(): void {
    const u = this.unit!;
    if (!u.initialised) initUnit(u, this.state);
  }

  /**
   * Walks unit `u` into the (reset) tables; false when it was handed back (the tables reset
   * again: the caller walks it in JS).
   */
  walkUnit(u: Unit, t: RawTable, fr: FrameTable, dies: CodeDies | undefined): boolean {
    const ui = this.index.get(u);
    if (ui === undefined) return false;
    this.unit = u;
    const cd = dies ?? NativeWalk.noDies;
    const code = this.code;
    const s = this.state;
    for (;;) {
      this.bindIfChanged(t, fr, cd);
      s[0] = 0;
      s[1] = 0;
      s[2] = 0;
      s[3] = 0;
      s[4] = cd.length;
      s[5] = 0;
      s[6] = code.synth;
      s[7] = code.locIsBlock ? 1 : 0;
      s[8] = code.locForm;
      s[9] = code.locStart;
      s[10] = code.locEnd;
      s[22] = 0;
      const rc = this.a.walk(this.walker, ui, dies ? 1 : 0, s);
      if (rc === NW_OK) {
        t.adoptNative(s[0], s[1], s[5] > 0 ? this.scopeNames(s[5]) : null);
        fr.fns = s[2];
        fr.locals = s[3];
        fr.statics = s[22];
        if (dies) dies.length = s[4];
        code.synth = s[6];
        code.locIsBlock = s[7] !== 0;
        code.locForm = s[8];
        code.locStart = s[9];
        code.locEnd = s[10];
        if (!u.initialised) initUnit(u, s);
        nativeStats.units++;
        return true;
      }
      // Undo what the walk wrote: the slots of the records it made (s[0]: how many).
      t.n = s[0];
      t.reset(u);
      fr.reset();
      if (rc === NW_ROOM_RECORDS) t.growRecords(t.tag.length * 2);
      else if (rc === NW_ROOM_ITEMS) t.growItems(t.itemNext.length * 2);
      else if (rc === NW_ROOM_FNS) fr.growFunctions();
      else if (rc === NW_ROOM_LOCALS) fr.growLocals();
      else if (rc === NW_ROOM_CODEDIES) cd.grow();
      else if (rc === NW_ROOM_SCOPES) this.scopes = new Float64Array(this.scopes.length * 2);
      else if (rc === NW_ROOM_STATICS) fr.growStatics();
      else {
        if (rc !== NW_FALLBACK) throw new Error(`native DIE walk: unexpected result ${rc}`);
        nativeStats.fallbacks++;
        if (this.verbose)
          process.stderr.write(
            `allocs typegen: native walk hands unit 0x${u.offset.toString(16)} of ${u.file} back to JS: ${this.a.why(this.walker)}\n`,
          );
        return false;
      }
    }
  }

  /** The C++ scopes the walk listed ([record, count, references...]) as collect.ts joins them. */
  private scopeNames(len: number): Map<number, string> {
    const out = new Map<number, string>();
    const sc = this.scopes;
    for (let i = 0; i < len;) {
      const r = sc[i];
      const n = sc[i + 1];
      const parts: string[] = [];
      for (let j = 0; j < n; j++) {
        const ref = sc[i + 2 + j];
        parts.push(ref === ANON_NAMESPACE ? "(anonymous namespace)" : (resolveStr(this.dwarf, ref) ?? ""));
      }
      out.set(r, parts.join("::"));
      i += 2 + n;
    }
    return out;
  }

  private bindIfChanged(t: RawTable, fr: FrameTable, cd: CodeDies): void {
    const cols = [
      t.key,
      t.tag,
      t.nameRef,
      t.byteSize,
      t.encoding,
      t.bitSize,
      t.target,
      t.flags,
      t.head,
      t.tail,
      t.idEpoch,
      t.nameEpoch,
      t.codeEpoch,
      t.itemNameRef,
      t.itemA,
      t.itemOffset,
      t.itemBitSize,
      t.itemBitOffset,
      t.itemNext,
      t.slotColumn,
      fr.f,
      fr.l,
      cd.keys,
      cd.depths,
      this.scopes,
      fr.s,
    ];
    const b = this.bound;
    let same = b.length === cols.length;
    for (let i = 0; same && i < cols.length; i++) same = b[i] === cols[i];
    if (same) return;
    this.a.bind(this.walker, cols);
    this.bound = cols;
  }
}
