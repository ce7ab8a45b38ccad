// A stable sort's order of many numeric keys without a comparator call per comparison: the
// site analysis sorts ~10^5 call sites and inlined-code intervals by address, and ~10^5 branch
// candidates by target.
//
// Keys are always a Float64Array, and the loops are small functions of their own: with one key
// type V8 optimises each once (called with Float64Arrays and number[] in turn, and compiled while
// its first loop ran, the sort was compiled 6 times and deoptimised 8 on PostgreSQL's backend).
// Few loops, though: each cold loop over ~10^5 keys runs in the interpreter until compiled.
//
// Many whole-number keys (addresses) are put in order by a least-significant-digit radix sort
// on 16-bit digits of `key - min`, one counting pass and one stable scatter per digit the span
// needs (2 for addresses within 4 GB): linear, where V8's typed-array sort of packed keys was
// ~35 ms of CPU on PostgreSQL's backend (223,000 branch candidates and 127,000 call sites).

/** Fewer keys than this are sorted by the typed array's own sort (a radix pass costs 2^16
 * counters whatever the count). */
const RADIX_MIN = 2048;

/** Spans of keys the radix sort handles: three 16-bit digits. */
const RADIX_SPAN = 2 ** 48;

/**
 * The indexes of `keys` in the order of a stable sort by key (as `Array.prototype.sort` would
 * order them). Many whole-number keys spanning less than 2^48 are radix-sorted; fewer spanning
 * less than 2^53 / 2^bits are sorted as `(key - min) * 2^bits + index` by the typed array's own
 * numeric sort (no comparator call per comparison).
 */
export function stableOrderBy(keys: Float64Array): Int32Array {
  const n = keys.length;
  const whole = keySpan(keys);
  if (whole && n >= RADIX_MIN && span[1] - span[0] < RADIX_SPAN)
    return radixOrder(keys, span[0], span[1] - span[0]);
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  if (whole && (n === 0 || span[1] - span[0] < 2 ** (53 - bits)))
    return unpack(packed(keys, span[0], scale).sort(), scale);
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => keys[a] - keys[b]);
  const order = new Int32Array(n);
  order.set(idx);
  return order;
}

/** keySpan's minimum and maximum key. */
const span = new Float64Array(2);

/** Whether every key is a whole number; if so their minimum and maximum are left in `span`. */
function keySpan(keys: Float64Array): boolean {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!Number.isInteger(k)) return false;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  span[0] = min;
  span[1] = max;
  return true;
}

/** (key - min) * scale + index. */
function packed(keys: Float64Array, min: number, scale: number): Float64Array {
  const p = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) p[i] = (keys[i] - min) * scale + i;
  return p;
}

function unpack(p: Float64Array, scale: number): Int32Array {
  const order = new Int32Array(p.length);
  for (let j = 0; j < p.length; j++) order[j] = p[j] % scale;
  return order;
}

/** The stable order of whole-number keys whose `key - min` are below `range` (< 2^48). Few
 * loops over the keys (each runs cold, in the interpreter until V8 compiles it): one counts
 * every digit's values, then one stable scatter per digit. The digits are worked out from the
 * keys again in each pass rather than kept (the two orders and the counts are all the memory:
 * a transient ~4 MB more on PostgreSQL's backend showed in the process's peak RSS). */
function radixOrder(keys: Float64Array, min: number, range: number): Int32Array {
  const n = keys.length;
  const passes = range < 2 ** 16 ? 1 : range < 2 ** 32 ? 2 : 3;
  // Per pass, 2^16 counters: how many keys have each digit value, then where the next goes.
  const count = new Int32Array(passes << 16);
  countDigits(keys, min, passes, count);
  for (let p = 0; p < passes; p++) startsOf(count, p << 16);
  let order = new Int32Array(n);
  scatterFirst(keys, min, count, order);
  if (passes === 1) return order;
  let spare = new Int32Array(n);
  scatter(keys, min, 1, order, spare, count);
  if (passes === 2) return spare;
  [order, spare] = [spare, order];
  scatter(keys, min, 2, order, spare, count);
  return spare;
}

/** Digit p (16 bits) of d, a whole number below 2^48. */
function digit(d: number, p: number): number {
  if (p === 0) return d & 0xffff; // ToInt32 keeps d mod 2^32
  if (p === 1) return (d >>> 16) & 0xffff;
  return ((d - (d >>> 0)) / 2 ** 32) & 0xffff;
}

function countDigits(keys: Float64Array, min: number, passes: number, count: Int32Array): void {
  for (let i = 0; i < keys.length; i++) {
    const d = keys[i] - min;
    count[d & 0xffff]++;
    if (passes > 1) count[(1 << 16) + ((d >>> 16) & 0xffff)]++;
    if (passes > 2) count[(2 << 16) + (((d - (d >>> 0)) / 2 ** 32) & 0xffff)]++;
  }
}

/** Turns the 2^16 counts from `base` on into where each digit value's keys start. A loop of
 * its own: the one caller (which runs a few times) is not compiled on the loop's account. */
function startsOf(count: Int32Array, base: number): void {
  let sum = 0;
  for (let d = base, end = base + (1 << 16); d < end; d++) {
    const c = count[d];
    count[d] = sum;
    sum += c;
  }
}

/** The first pass, from the keys in index order: by the low 16 bits. */
function scatterFirst(keys: Float64Array, min: number, count: Int32Array, to: Int32Array): void {
  for (let i = 0; i < keys.length; i++) to[count[(keys[i] - min) & 0xffff]++] = i;
}

/** One stable pass: the indexes in `from` into `to` by digit p of their key - min, the next
 * place of each digit value at count[p * 2^16 + value]. */
function scatter(
  keys: Float64Array,
  min: number,
  p: number,
  from: Int32Array,
  to: Int32Array,
  count: Int32Array,
): void {
  const base = p << 16;
  for (let j = 0; j < from.length; j++) {
    const i = from[j];
    to[count[base + digit(keys[i] - min, p)]++] = i;
  }
}
