// The squarified treemap layout (extension/src/vscode/treemap-layout.ts): every rectangle's area
// is proportional to its value, no two overlap, all lie inside the bounds and together fill them;
// on the paper's own example the rows come out as the paper draws them.
import * as assert from "node:assert/strict";

import { squarify, type Placed, type Rect } from "../../extension/src/vscode/treemap-layout";

const EPS = 1e-9;

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** The three properties every layout must have, checked exactly (up to rounding). */
function checkLayout<T>(placed: Placed<T>[], values: number[], bounds: Rect): void {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  assert.equal(placed.length, positive.length, "one rectangle per positive value");
  const total = positive.reduce((n, v) => n + v, 0);
  const area = bounds.w * bounds.h;
  for (const p of placed) {
    assert.ok(p.w >= 0 && p.h >= 0, `non-negative size ${JSON.stringify(p)}`);
    const want = (p.value / total) * area;
    assert.ok(Math.abs(p.w * p.h - want) <= 1e-6 * area, `area ${p.w * p.h} is ${want} for value ${p.value}`);
    assert.ok(p.x >= bounds.x - EPS && p.y >= bounds.y - EPS, `inside (top left) ${JSON.stringify(p)}`);
    assert.ok(p.x + p.w <= bounds.x + bounds.w + 1e-6, `inside (right) ${JSON.stringify(p)}`);
    assert.ok(p.y + p.h <= bounds.y + bounds.h + 1e-6, `inside (bottom) ${JSON.stringify(p)}`);
  }
  for (let i = 0; i < placed.length; i++)
    for (let j = i + 1; j < placed.length; j++)
      assert.ok(overlap(placed[i], placed[j]) <= 1e-6 * area, `rectangles ${i} and ${j} overlap`);
  const covered = placed.reduce((n, p) => n + p.w * p.h, 0);
  assert.ok(Math.abs(covered - area) <= 1e-6 * area, `they fill the bounds (${covered} of ${area})`);
}

function aspect(r: Rect): number {
  return Math.max(r.w / r.h, r.h / r.w);
}

/** A small deterministic pseudo-random sequence (no Math.random: a failure must repeat). */
function* lcg(seed: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    yield s / 2 ** 32;
  }
}

describe("vscode: squarified treemap layout", () => {
  it("lays out the paper's example (6 6 4 3 2 2 1 in 6x4) in its rows", () => {
    const values = [6, 6, 4, 3, 2, 2, 1];
    const bounds = { x: 0, y: 0, w: 6, h: 4 };
    const placed = squarify(
      values.map((value, i) => ({ value, item: i })),
      bounds,
    );
    checkLayout(placed, values, bounds);
    // the paper: the two 6s stacked in a 3-wide column, then 4 and 3 side by side, ...
    assert.deepEqual(
      placed.slice(0, 2).map((p) => [p.x, p.y, p.w, p.h]),
      [
        [0, 0, 3, 2],
        [0, 2, 3, 2],
      ],
    );
    assert.ok(Math.max(...placed.map(aspect)) < 3, "no sliver: every rectangle squarish");
  });

  it("keeps areas proportional, without overlaps, inside the bounds, for many inputs", () => {
    const rnd = lcg(14);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rnd.next().value * 60);
      // heap-like sizes: a few huge, many small, some equal
      const values = Array.from({ length: n }, () => Math.round(2 ** (rnd.next().value * 20)));
      const bounds = {
        x: rnd.next().value * 50,
        y: rnd.next().value * 50,
        w: 1 + rnd.next().value * 1000,
        h: 1 + rnd.next().value * 600,
      };
      checkLayout(
        squarify(
          values.map((value, i) => ({ value, item: i })),
          bounds,
        ),
        values,
        bounds,
      );
    }
  });

  it("leaves out zero, negative and non-finite values and keeps the input order among equals", () => {
    const values = [0, 5, -3, Number.NaN, 5, Number.POSITIVE_INFINITY, 2];
    const bounds = { x: 10, y: 20, w: 300, h: 100 };
    const placed = squarify(
      values.map((value, i) => ({ value, item: `v${i}` })),
      bounds,
    );
    checkLayout(placed, values, bounds);
    assert.deepEqual(
      placed.map((p) => p.item),
      ["v1", "v4", "v6"],
    );
  });

  it("fills the bounds with one item, and draws nothing for nothing", () => {
    const bounds = { x: 1, y: 2, w: 30, h: 40 };
    assert.deepEqual(squarify([{ value: 7, item: "only" }], bounds), [{ ...bounds, item: "only", value: 7 }]);
    assert.deepEqual(squarify([], bounds), []);
    assert.deepEqual(squarify([{ value: 0, item: "none" }], bounds), []);
    assert.deepEqual(squarify([{ value: 1, item: "flat" }], { x: 0, y: 0, w: 0, h: 10 }), []);
  });

  it("gives squarer rectangles than slicing in one direction", () => {
    const values = Array.from({ length: 40 }, (_, i) => 40 - i);
    const bounds = { x: 0, y: 0, w: 1000, h: 600 };
    const placed = squarify(
      values.map((value, i) => ({ value, item: i })),
      bounds,
    );
    checkLayout(placed, values, bounds);
    const mean = placed.reduce((n, p) => n + aspect(p), 0) / placed.length;
    // slicing the 1000-wide box into 40 columns would average an aspect ratio above 20
    assert.ok(mean < 3, `mean aspect ratio ${mean}`);
  });
});
