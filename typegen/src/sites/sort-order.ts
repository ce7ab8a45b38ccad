// A stable sort's order of many numeric keys without a comparator call per comparison: the
// site analysis sorts ~10^5 call sites and inlined-code intervals by address.

/**
 * The indexes of `keys` in the order of a stable sort by key (as `Array.prototype.sort` would
 * order them). Keys that are whole numbers below 2^53 / 2^bits are sorted as `key * 2^bits +
 * index` by the typed array's own numeric sort (no comparator call per comparison).
 */
export function stableOrderBy(keys: ArrayLike<number>): Int32Array {
  const n = keys.length;
  const bits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const scale = 2 ** bits;
  const limit = 2 ** (53 - bits);
  let packable = true;
  for (let i = 0; i < n && packable; i++) {
    const k = keys[i];
    packable = Number.isInteger(k) && k >= 0 && k < limit;
  }
  const order = new Int32Array(n);
  if (packable) {
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = keys[i] * scale + i;
    packed.sort();
    for (let j = 0; j < n; j++) order[j] = packed[j] % scale;
    return order;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => keys[a] - keys[b]);
  order.set(idx);
  return order;
}
