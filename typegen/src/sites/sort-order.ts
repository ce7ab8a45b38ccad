// A stable sort's order of many numeric keys without a comparator call per comparison: the
// site analysis sorts ~10^5 call sites and inlined-code intervals by address, and ~10^6 branch
// candidates by target.

/**
 * The indexes of `keys` in the order of a stable sort by key (as `Array.prototype.sort` would
 * order them). Whole-number keys spanning less than 2^53 / 2^bits are sorted as `(key - min) *
 * 2^bits + index` by the typed array's own numeric sort (no comparator call per comparison).
 */
export function stableOrderBy(keys: ArrayLike<number>): Int32Array {
  const n = keys.length;
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  const limit = 2 ** (53 - bits);
  let min = Infinity;
  let max = -Infinity;
  let integers = true;
  for (let i = 0; i < n && integers; i++) {
    const k = keys[i];
    integers = Number.isInteger(k);
    if (k < min) min = k;
    if (k > max) max = k;
  }
  const order = new Int32Array(n);
  if (integers && (n === 0 || max - min < limit)) {
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = (keys[i] - min) * scale + i;
    packed.sort();
    for (let j = 0; j < n; j++) order[j] = packed[j] % scale;
    return order;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => keys[a] - keys[b]);
  order.set(idx);
  return order;
}
