// The call site DIEs of a binary (callsites.ts reads them) as columns of numbers, looked up by
// return address. A large binary has ~10^5 of them (PostgreSQL's backend 127,000) and the site
// analysis asks about a few thousand: an object and a map entry for each was ~30 MB of heap
// that lived through the whole analysis, copied by every young-generation collection on the
// way. A site's object is made when it is asked for (`get`, or iterating).

import { stableOrderBy } from "./sort-order";
import { grownF64, grownI32, grownU8 } from "../bytes";

/** One call site DIE. */
export interface DwarfCallSite {
  /** The return address (for a tail call, the address after the jump). */
  ret: number;
  /** The callee's linkage name or name (`__builtin_` dropped), when the DIE names one. */
  callee?: string;
  tail: boolean;
  /** The DIE's key, for its parameters (CodeFacts.params). */
  key: number;
}

/**
 * Call sites by return address, the first one read for an address winning; iterated in the
 * order they were first read (as a Map filled in DIE order would be). Read-only once `seal`ed.
 */
export class CallSiteTable {
  private n = 0;
  private rets = new Float64Array(1024);
  private dieKeys = new Float64Array(1024);
  /** The callee's name as an index into `names` (-1: none). */
  private callees = new Int32Array(1024);
  private tails = new Uint8Array(1024);
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** Indexes of the sites kept (the first per address), by address. */
  private byRet = new Int32Array(0);
  /** 1 for a site kept. */
  private kept = new Uint8Array(0);

  /** Adds a site (before `seal`); a callee named "" is none. */
  add(ret: number, tail: boolean, key: number, callee: string | undefined): void {
    this.addNamed(ret, tail, key, callee ? this.nameId(callee) : -1);
  }

  /** Adds a site whose callee is name `callee` (an id from `nameId`; -1: none). */
  addNamed(ret: number, tail: boolean, key: number, callee: number): void {
    if (this.n === this.rets.length) this.grow();
    const i = this.n++;
    this.rets[i] = ret;
    this.dieKeys[i] = key;
    this.tails[i] = tail ? 1 : 0;
    this.callees[i] = callee;
  }

  /** The id of a callee name (made when new). */
  nameId(name: string): number {
    let c = this.nameIndex.get(name);
    if (c === undefined) {
      c = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, c);
    }
    return c;
  }

  nameAt(id: number): string {
    return this.names[id];
  }

  /** Orders the sites by address, keeping the first read for each. */
  seal(): this {
    const n = this.n;
    const rets = this.rets.subarray(0, n);
    const order = stableOrderBy(rets);
    const kept = new Uint8Array(n);
    let m = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (m > 0 && rets[order[m - 1]] === rets[i]) continue;
      order[m++] = i;
      kept[i] = 1;
    }
    this.byRet = order.slice(0, m);
    this.kept = kept;
    // Exact sizes: the columns live as long as the analysis.
    this.rets = this.rets.slice(0, n);
    this.dieKeys = this.dieKeys.slice(0, n);
    this.callees = this.callees.slice(0, n);
    this.tails = this.tails.slice(0, n);
    return this;
  }

  get size(): number {
    return this.byRet.length;
  }

  has(ret: number): boolean {
    return this.find(ret) >= 0;
  }

  get(ret: number): DwarfCallSite | undefined {
    const i = this.find(ret);
    return i < 0 ? undefined : this.site(i);
  }

  *keys(): IterableIterator<number> {
    for (let i = 0; i < this.n; i++) if (this.kept[i]) yield this.rets[i];
  }

  *values(): IterableIterator<DwarfCallSite> {
    for (let i = 0; i < this.n; i++) if (this.kept[i]) yield this.site(i);
  }

  *[Symbol.iterator](): IterableIterator<[number, DwarfCallSite]> {
    for (let i = 0; i < this.n; i++) if (this.kept[i]) yield [this.rets[i], this.site(i)];
  }

  /** The sites kept that are tail calls, in the order they were read (an object for each of
   * those only). */
  tailSites(): DwarfCallSite[] {
    const out: DwarfCallSite[] = [];
    for (let i = 0; i < this.n; i++) if (this.kept[i] && this.tails[i] === 1) out.push(this.site(i));
    return out;
  }

  /** The sites kept that are not tail calls and whose callee's name passes `want` (asked once
   * per name), in the order they were read. */
  callsTo(want: (callee: string) => boolean): DwarfCallSite[] {
    const wanted = this.names.map((name) => want(name));
    const out: DwarfCallSite[] = [];
    for (let i = 0; i < this.n; i++) {
      const c = this.callees[i];
      if (c >= 0 && wanted[c] && this.kept[i] && this.tails[i] === 0) out.push(this.site(i));
    }
    return out;
  }

  /** The index of the site kept for `ret`, or -1. */
  private find(ret: number): number {
    const byRet = this.byRet;
    const rets = this.rets;
    let lo = 0;
    let hi = byRet.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rets[byRet[mid]] < ret) lo = mid + 1;
      else hi = mid;
    }
    return lo < byRet.length && rets[byRet[lo]] === ret ? byRet[lo] : -1;
  }

  private site(i: number): DwarfCallSite {
    const s: DwarfCallSite = { ret: this.rets[i], tail: this.tails[i] === 1, key: this.dieKeys[i] };
    const c = this.callees[i];
    if (c >= 0) s.callee = this.names[c];
    return s;
  }

  private grow(): void {
    const cap = this.rets.length * 2;
    this.rets = grownF64(this.rets, cap);
    this.dieKeys = grownF64(this.dieKeys, cap);
    this.callees = grownI32(this.callees, cap);
    this.tails = grownU8(this.tails, cap);
  }
}
