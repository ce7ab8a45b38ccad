// The live heap as a treemap (no scripts): one rectangle per type (or site) of the census, its area
// its live bytes, its colour fixed per type; or, comparing with a snapshot, area = bytes now and
// colour = growth since the snapshot (red grew, blue shrank). Rectangles are HTML links placed in
// percent of a box as wide as the panel (treemap-layout.ts), each focusable with an aria label and
// a tooltip; a click lists the allocations, as a census row does. The census or growth table stays
// below the picture. Pure functions of the bridge's JSON (census: docs/schema/census.schema.json,
// diff: docs/snapshot-format.md), unit-tested without VS Code.
import {
  censusRowLabel,
  humanBytes,
  type CensusJson,
  type CensusRowJson,
  type SiteJson,
} from "./description";
import { renderDiffHtml, type DiffJson, type DiffRowJson } from "./graph-render";
import { censusRowFilter, commandUri, escapeXml, renderCensusChart, VIEW_COMMANDS } from "./render";
import { squarify } from "./treemap-layout";

/** The command that draws the treemap (package.json; config.ts COMMANDS.showHeapTreemap). */
export const TREEMAP_COMMAND = "allocs.showHeapTreemap";

/** What the treemap shows: the census by type or by site, compared with snapshot `from` or not. */
export interface TreemapArgs {
  readonly by?: "type" | "site";
  readonly from?: string;
}

export type Growth = Omit<DiffRowJson, "type" | "site">;

/** One rectangle: a census row, with its growth when comparing. */
export interface TreemapCell {
  /** the key the bridge's diff uses for the row (a type's name, a site's `fn at file:line`) */
  readonly key: string;
  readonly label: string;
  readonly count: number;
  readonly bytes: number;
  readonly filter?: { type?: string; site?: string };
  readonly growth?: Growth;
}

/** The virtual box the layout works in; the page scales it to the panel's width. */
const BOX = { x: 0, y: 0, w: 1000, h: 560 };
/** The largest rectangles drawn; the rest share one grey rectangle (they stay in the table). */
const MAX_CELLS = 300;

const NO_GROWTH: Growth = { added: 0, addedBytes: 0, freed: 0, freedBytes: 0, net: 0, netBytes: 0 };

/** A census site as the bridge's diff names it (snapshot.site_key): `fn at file:line`, else the
 * function, else the pc. */
export function siteKey(site: SiteJson | null | undefined): string {
  if (!site) return "(unknown site)";
  if (site.file && site.line !== null && site.line !== undefined)
    return `${site.function ?? "?"} at ${site.file}:${site.line}`;
  if (site.function) return site.function;
  return site.pc ?? "(unknown site)";
}

/** A census row's key in the diff: its type (an unknown one as the diff spells it) or its site. */
export function censusKey(row: CensusRowJson, by: string): string {
  if (by === "type") return row.type ?? "(type unknown)";
  return siteKey(row.site);
}

export function censusCells(c: CensusJson): TreemapCell[] {
  return c.rows.map((r) => ({
    key: censusKey(r, c.by),
    label: censusRowLabel(r, c.by),
    count: r.count,
    bytes: r.bytes,
    filter: censusRowFilter(r),
  }));
}

/** The census now with the growth since a snapshot: every live row with its diff row (none: no
 * change); `gone` holds the diff's rows with nothing live now (freed entirely), which have no area. */
export function growthCells(now: CensusJson, d: DiffJson): { cells: TreemapCell[]; gone: DiffRowJson[] } {
  const rows = now.by === "type" ? d.byType : d.bySite;
  const byKey = new Map(rows.map((r) => [(now.by === "type" ? r.type : r.site) ?? "", r]));
  const cells = censusCells(now).map((c) => {
    const r = byKey.get(c.key);
    byKey.delete(c.key);
    const growth: Growth =
      r === undefined
        ? NO_GROWTH
        : {
            added: r.added,
            addedBytes: r.addedBytes,
            freed: r.freed,
            freedBytes: r.freedBytes,
            net: r.net,
            netBytes: r.netBytes,
          };
    return { ...c, growth };
  });
  return { cells, gone: [...byKey.values()] };
}

/** FNV-1a: a type's colour must not change between stops or sessions. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A colour of its own for each type or site, the same every time. */
export function keyColour(key: string): string {
  const h = hash(key);
  return `hsl(${h % 360}, ${45 + ((h >>> 9) % 25)}%, ${34 + ((h >>> 17) % 14)}%)`;
}

/** Growth as colour: red for bytes added, blue for bytes freed, stronger the larger the net change
 * against the largest one drawn; grey for none. */
export function growthColour(netBytes: number, largest: number): string {
  if (netBytes === 0 || largest <= 0) return "hsl(0, 0%, 55%)";
  const strength = Math.min(1, Math.abs(netBytes) / largest);
  const light = Math.round(72 - 34 * strength);
  return netBytes > 0 ? `hsl(2, 70%, ${light}%)` : `hsl(212, 65%, ${light}%)`;
}

function countText(n: number): string {
  return `${n} allocation${n === 1 ? "" : "s"}`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function signedBytes(n: number): string {
  return n > 0 ? `+${humanBytes(n)}` : n < 0 ? `-${humanBytes(-n)}` : "0 B";
}

/** What a rectangle says when hovered or focused. */
export function cellTooltip(c: TreemapCell): string {
  const head = `${c.label}: ${humanBytes(c.bytes)} in ${countText(c.count)}`;
  if (c.growth === undefined) return head;
  const g = c.growth;
  return (
    `${head}; since the snapshot: ${g.added} added (${humanBytes(g.addedBytes)}), ` +
    `${g.freed} freed (${humanBytes(g.freedBytes)}), net ${signed(g.net)} (${signedBytes(g.netBytes)})`
  );
}

function pct(v: number, of: number): string {
  return `${((v / of) * 100).toFixed(3)}%`;
}

/** The treemap itself: a box of absolutely placed links, keyboard-focusable, each with its label. */
export function renderTreemap(cells: readonly TreemapCell[], what: string): string {
  const sorted = [...cells].filter((c) => c.bytes > 0).sort((a, b) => b.bytes - a.bytes);
  const shown = sorted.slice(0, MAX_CELLS);
  const rest = sorted.slice(MAX_CELLS);
  type Item = TreemapCell | { rest: number; count: number; bytes: number };
  const items: { value: number; item: Item }[] = shown.map((c) => ({ value: c.bytes, item: c }));
  if (rest.length > 0) {
    const bytes = rest.reduce((n, c) => n + c.bytes, 0);
    const count = rest.reduce((n, c) => n + c.count, 0);
    items.push({ value: bytes, item: { rest: rest.length, count, bytes } });
  }
  const comparing = cells.some((c) => c.growth !== undefined);
  const largest = Math.max(0, ...cells.map((c) => Math.abs(c.growth?.netBytes ?? 0)));
  const parts = squarify(items, BOX).map((p) => {
    const place = `left:${pct(p.x, BOX.w)};top:${pct(p.y, BOX.h)};width:${pct(p.w, BOX.w)};height:${pct(p.h, BOX.h)}`;
    const big = p.w >= 70 && p.h >= 22;
    if ("rest" in p.item) {
      const tip = `${p.item.rest} smaller rows: ${humanBytes(p.item.bytes)} in ${countText(p.item.count)} (see the table)`;
      return (
        `<div class="tm-cell tm-rest" tabindex="0" role="img" style="${place}" title="${escapeXml(tip)}" ` +
        `aria-label="${escapeXml(tip)}">${big ? `<span class="tm-label">${escapeXml(`${p.item.rest} more`)}</span>` : ""}</div>`
      );
    }
    const c = p.item;
    const colour = comparing ? growthColour(c.growth?.netBytes ?? 0, largest) : keyColour(c.key);
    const tip = cellTooltip(c);
    const label = big
      ? `<span class="tm-label">${escapeXml(c.label)}</span><span class="tm-size">${escapeXml(
          comparing && c.growth?.netBytes
            ? `${humanBytes(c.bytes)} (${signedBytes(c.growth.netBytes)})`
            : humanBytes(c.bytes),
        )}</span>`
      : "";
    const attrs =
      `class="tm-cell" style="${place};background:${colour}" title="${escapeXml(tip)}" ` +
      `aria-label="${escapeXml(tip)}" data-key="${escapeXml(c.key)}"`;
    return c.filter !== undefined
      ? `<a ${attrs} href="${escapeXml(commandUri(VIEW_COMMANDS.list, [c.filter]))}">${label}</a>`
      : `<div ${attrs} tabindex="0" role="img">${label}</div>`;
  });
  if (parts.length === 0) parts.push(`<p class="tm-empty">no live heap allocations</p>`);
  return `<div class="treemap" role="group" aria-label="${escapeXml(what)}">${parts.join("")}</div>`;
}

function toggleLinks(args: TreemapArgs, snapshots: readonly string[]): string {
  const by = args.by ?? "type";
  const link = (a: TreemapArgs, text: string, current: boolean): string =>
    current
      ? `<strong>${escapeXml(text)}</strong>`
      : `<a href="${escapeXml(commandUri(TREEMAP_COMMAND, [a]))}">${escapeXml(text)}</a>`;
  const from = args.from;
  const views = [
    link({ by: "type", from }, "by type", by === "type"),
    link({ by: "site", from }, "by site", by === "site"),
  ].join(" | ");
  const compare = [
    link({ by }, "live heap", from === undefined),
    ...snapshots.map((s) => link({ by, from: s }, `growth since ${s}`, from === s)),
  ].join(" | ");
  return `<p class="tm-toggle">Show: ${views} — ${compare}</p>`;
}

/** The treemap page: toggles, summary, picture, legend and the table with the same rows. */
export function renderTreemapPageHtml(
  now: CensusJson,
  opts: { diff?: DiffJson; snapshots?: readonly string[]; from?: string } = {},
): string {
  const by = now.by === "site" ? "site" : "type";
  const args: TreemapArgs = { by, from: opts.from };
  const toggle = toggleLinks(args, opts.snapshots ?? []);
  const style = `<style>${TREEMAP_STYLE}</style>`;
  const hint = `<p class="hint">Click a rectangle (or focus it and press Enter) to list its allocations; hover for counts and bytes. The table below has the same rows.</p>`;
  if (opts.diff === undefined) {
    const t = now.total;
    const what = `treemap of the live heap by ${by}`;
    return (
      `${style}<h2>Live heap by ${by}</h2>${toggle}<p>${escapeXml(
        `${countText(t.chunks)}, ${humanBytes(t.bytes)}; area = live bytes`,
      )}</p>` +
      renderTreemap(censusCells(now), what) +
      hint +
      `<h3>As a table</h3>${renderCensusChart(now)}`
    );
  }
  const d = opts.diff;
  const { cells, gone } = growthCells(now, d);
  const t = d.total;
  const legend =
    `<p class="tm-legend"><span class="tm-swatch" style="background:${growthColour(1, 1)}"></span> grew ` +
    `<span class="tm-swatch" style="background:${growthColour(0, 1)}"></span> unchanged ` +
    `<span class="tm-swatch" style="background:${growthColour(-1, 1)}"></span> shrank ` +
    `(the stronger, the larger the net change); area = bytes now</p>`;
  const goneText = gone.length
    ? `<p>${escapeXml(
        `Freed entirely since ${d.from} (no area now): ` +
          gone.map((r) => `${r.type ?? r.site} (${signedBytes(r.netBytes)})`).join(", "),
      )}</p>`
    : "";
  return (
    `${style}<h2>${escapeXml(`Heap growth by ${by} from ${d.from} to ${d.to}`)}</h2>${toggle}<p>${escapeXml(
      `+${t.added} allocations (${humanBytes(t.addedBytes)}), -${t.freed} (${humanBytes(t.freedBytes)}), ` +
        `net ${signed(t.net)} (${signedBytes(t.netBytes)})`,
    )}</p>` +
    legend +
    renderTreemap(cells, `treemap of the heap by ${by}, coloured by growth since ${d.from}`) +
    hint +
    goneText +
    `<h3>As a table</h3>${renderDiffHtml(d)}`
  );
}

/** The styles of the treemap (a <style> at the top of its page's body; the page's CSP allows inline styles). */
export const TREEMAP_STYLE = `
.treemap { position: relative; width: 100%; aspect-ratio: ${BOX.w} / ${BOX.h};
  font-family: var(--vscode-editor-font-family, monospace); font-size: 12px; }
.treemap .tm-cell { position: absolute; box-sizing: border-box; overflow: hidden; padding: 2px 4px;
  border: 1px solid var(--vscode-editor-background, #fff); color: #fff; text-decoration: none;
  display: flex; flex-direction: column; }
.treemap .tm-rest { background: hsl(0, 0%, 62%); }
.treemap .tm-cell:hover, .treemap .tm-cell:focus { outline: 2px solid var(--vscode-focusBorder, #07f);
  outline-offset: -2px; z-index: 1; }
.treemap .tm-label, .treemap .tm-size { white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  text-shadow: 0 0 2px rgba(0, 0, 0, 0.7); }
.treemap .tm-size { opacity: 0.85; }
.tm-swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle; }
`;
