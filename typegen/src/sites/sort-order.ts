// A stable sort's order of many numeric keys without a comparator call per comparison: the
// site analysis sorts ~10^5 call sites and inlined-code intervals by address, and ~10^5 branch
// candidates by target.
//
// Keys are always a Float64Array, and the loops are small functions of their own: with one key
// type V8 optimises each once (called with Float64Arrays and number[] in turn, and compiled while
// its first loop ran, the sort was compiled 6 times and deoptimised 8 on PostgreSQL's backend).
// Few loops, though: each cold loop over ~10^5 keys runs in the interpreter until compiled.

/**
 * The indexes of `keys` in the order of a stable sort by key (as `Array.prototype.sort` would
 * order them). Whole-number keys spanning less than 2^53 / 2^bits are sorted as `(key - min) *
 * 2^bits + index` by the typed array's own numeric sort (no comparator call per comparison).
 */
export function stableOrderBy(keys: Float64Array): Int32Array {
  const n = keys.length;
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  if (keySpan(keys) && (n === 0 || span[1] - span[0] < 2 ** (53 - bits)))
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
