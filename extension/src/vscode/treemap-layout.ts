// The squarified treemap layout (Bruls, Huizing and van Wijk, "Squarified Treemaps", 2000): items
// with a value become rectangles that tile a bounding rectangle, each with an area proportional
// to its value and as close to a square as the greedy row-by-row method gets. Pure arithmetic,
// no DOM: treemap-render.ts draws the result, tests/extension/vscode-treemap-layout.test.ts
// checks areas, overlaps and bounds.

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface Placed<T> extends Rect {
  readonly item: T;
  readonly value: number;
}

/** The worst aspect ratio (>= 1) of a row of areas laid along a side of length `side`. */
function worst(sum: number, min: number, max: number, side: number): number {
  const s2 = sum * sum;
  const side2 = side * side;
  return Math.max((side2 * max) / s2, s2 / (side2 * min));
}

/**
 * Lays out `items` in `bounds`: one rectangle per item whose value is a positive finite number
 * (others are left out), largest first (ties keep the input order), so the same input always gives
 * the same picture. The rectangles cover `bounds` exactly and do not overlap.
 */
export function squarify<T>(
  items: readonly { readonly value: number; readonly item: T }[],
  bounds: Rect,
): Placed<T>[] {
  const kept = items
    .map((it, index) => ({ ...it, index }))
    .filter((it) => Number.isFinite(it.value) && it.value > 0)
    .sort((a, b) => b.value - a.value || a.index - b.index);
  const out: Placed<T>[] = [];
  if (kept.length === 0 || !(bounds.w > 0) || !(bounds.h > 0)) return out;
  const total = kept.reduce((n, it) => n + it.value, 0);
  const scale = (bounds.w * bounds.h) / total;
  const areas = kept.map((it) => it.value * scale);

  let { x, y, w, h } = bounds;
  let i = 0;
  while (i < kept.length) {
    const side = Math.min(w, h);
    // grow the row while its worst aspect ratio improves
    let sum = areas[i];
    let min = areas[i];
    let max = areas[i];
    let j = i + 1;
    while (j < kept.length) {
      const a = areas[j];
      const next = worst(sum + a, Math.min(min, a), Math.max(max, a), side);
      if (next > worst(sum, min, max, side)) break;
      sum += a;
      min = Math.min(min, a);
      max = Math.max(max, a);
      j++;
    }
    const last = j === kept.length;
    if (w >= h) {
      // a column at the left edge, as wide as its area needs (the last one takes what is left)
      const colW = last ? w : Math.min(w, sum / h);
      let yy = y;
      for (let k = i; k < j; k++) {
        const hh = k === j - 1 ? y + h - yy : areas[k] / colW;
        out.push({ x, y: yy, w: colW, h: hh, item: kept[k].item, value: kept[k].value });
        yy += hh;
      }
      x += colW;
      w -= colW;
    } else {
      // a row along the top edge
      const rowH = last ? h : Math.min(h, sum / w);
      let xx = x;
      for (let k = i; k < j; k++) {
        const ww = k === j - 1 ? x + w - xx : areas[k] / rowH;
        out.push({ x: xx, y, w: ww, h: rowH, item: kept[k].item, value: kept[k].value });
        xx += ww;
      }
      y += rowH;
      h -= rowH;
    }
    i = j;
  }
  return out;
}
