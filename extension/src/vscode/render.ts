// Pictures of memory, as plain HTML and SVG strings (no scripts, no framework): the hierarchy
// around one address drawn as nested bars that zoom from the mapping down to the allocation,
// the heap census as bars by site or type, and the memory map as an indented tree of bars.
// Pure functions of the bridge's JSON, so they are unit-tested without VS Code.
import {
  basename,
  censusRowLabel,
  headline,
  humanBytes,
  isRuntimeObject,
  levelsOf,
  nestMaps,
  NO_TYPES_ADVICE,
  siteText,
  type CensusJson,
  type CensusRowJson,
  type DescriptionJson,
  type LevelJson,
  type LsJson,
  type MapNodeJson,
  type NestedMapNode,
  type RuntimeOwnJson,
} from "./description";

/** The commands a picture's links run (webview command URIs; no scripts in the page). */
export const VIEW_COMMANDS = {
  describe: "allocs.describeAddress",
  list: "allocs.listAllocations",
} as const;

/** A `command:` link with its JSON arguments. */
export function commandUri(command: string, args: unknown[]): string {
  return `command:${command}?${encodeURIComponent(JSON.stringify(args))}`;
}

/** What `alloc ls` filters a census row by: its type (arrays of it included) or its site. */
export function censusRowFilter(row: CensusRowJson): { type?: string; site?: string } | undefined {
  if (row.type !== undefined && row.type !== null) return { type: row.type };
  const s = row.site;
  if (s?.file && s.line !== null && s.line !== undefined) return { site: `${s.file}:${s.line}` };
  if (s?.function) return { site: s.function };
  return undefined;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const WIDTH = 760;
const LEFT = 20;
const BAR_W = WIDTH - 2 * LEFT;
const BAR_H = 34;
const ZOOM_H = 46;
const MIN_W = 4;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** position of v in [base, base+size) as a fraction in [0, 1] */
function fraction(v: bigint, base: bigint, size: number): number {
  if (size <= 0) return 0;
  const f = Number(((v - base) * 1_000_000n) / BigInt(size)) / 1_000_000;
  return Math.min(1, Math.max(0, f));
}

function text(
  x: number,
  y: number,
  s: string,
  cls: string,
  anchor: "start" | "middle" | "end" = "start",
): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" class="${cls}" text-anchor="${anchor}">${escapeXml(s)}</text>`;
}

function levelTitle(l: LevelJson): string {
  const name = l.name ? `  ${basename(l.name)}` : "";
  return `${l.allocator}${name}${isRuntimeObject(l.name) ? " (allocs runtime)" : ""}`;
}

/** The hierarchy around the address: one bar per level, outermost first, each showing where the
 * next one lies inside it; the address is marked in every bar and the leaf says offset and field. */
export function renderHierarchySvg(d: DescriptionJson): string {
  const levels = levelsOf(d);
  const addr = BigInt(d.address);
  const parts: string[] = [];
  const rowH = BAR_H + ZOOM_H;
  const top = 24;
  const height = top + Math.max(1, levels.length) * rowH + 16;
  if (levels.length === 0) {
    parts.push(text(LEFT, top + 20, `${d.address}: no allocation contains this address`, "label"));
  }
  levels.forEach((l, i) => {
    const y = top + i * rowH;
    const base = BigInt(l.base);
    const leaf = i === levels.length - 1;
    parts.push(`<g class="level${leaf ? " leaf" : ""}" data-allocator="${escapeXml(l.allocator)}">`);
    parts.push(
      `<rect class="bar${leaf ? " leaf-bar" : ""}" x="${LEFT}" y="${y}" width="${BAR_W}" height="${BAR_H}" rx="3"/>`,
    );
    parts.push(text(LEFT + 6, y + 14, levelTitle(l), "title"));
    if (leaf && d.type) parts.push(text(LEFT + BAR_W / 2, y + 14, d.type, "type", "middle"));
    parts.push(text(LEFT + BAR_W - 6, y + 14, humanBytes(l.size), "size", "end"));
    parts.push(text(LEFT, y + BAR_H + 12, hex(base), "addr"));
    parts.push(text(LEFT + BAR_W, y + BAR_H + 12, hex(base + BigInt(l.size)), "addr", "end"));
    const next = levels[i + 1];
    if (next !== undefined) {
      const nb = BigInt(next.base);
      let x0 = LEFT + fraction(nb, base, l.size) * BAR_W;
      let w = Math.max(MIN_W, (next.size / Math.max(1, l.size)) * BAR_W);
      if (x0 + w > LEFT + BAR_W) x0 = LEFT + BAR_W - w;
      if (x0 < LEFT) {
        x0 = LEFT;
        w = Math.min(w, BAR_W);
      }
      parts.push(
        `<rect class="inner" x="${x0.toFixed(1)}" y="${y + 18}" width="${w.toFixed(1)}" height="${BAR_H - 18}"/>`,
      );
      const yb = y + BAR_H;
      const yn = y + rowH;
      parts.push(
        `<polygon class="zoom" points="${x0.toFixed(1)},${yb} ${(x0 + w).toFixed(1)},${yb} ${LEFT + BAR_W},${yn} ${LEFT},${yn}"/>`,
      );
    }
    const xa = LEFT + fraction(addr, base, l.size) * BAR_W;
    parts.push(
      `<line class="mark" x1="${xa.toFixed(1)}" y1="${y + 17}" x2="${xa.toFixed(1)}" y2="${y + BAR_H + 3}"/>`,
    );
    if (leaf) {
      const off = addr - base;
      const field = d.path ? ` ${d.path}` : "";
      const label = `+${off.toString()}${field}`;
      const anchor = xa > LEFT + BAR_W * 0.7 ? "end" : "start";
      parts.push(text(anchor === "end" ? xa - 4 : xa + 4, y + 29, label, "offset", anchor));
    }
    parts.push("</g>");
  });
  parts.push(text(LEFT, 14, `${d.address}`, "addr-title"));
  return (
    `<svg class="hierarchy" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(headline(d))}">${parts.join("")}</svg>`
  );
}

function row(name: string, value: string | undefined | null): string {
  if (value === undefined || value === null || value === "") return "";
  return `<tr><th>${escapeXml(name)}</th><td>${escapeXml(value)}</td></tr>`;
}

/** The description as a picture and a table. */
export function renderDescriptionHtml(d: DescriptionJson): string {
  const levels = levelsOf(d);
  const chain = levels
    .map((l) => `${l.allocator} ${l.base} (${humanBytes(l.size)})${l.name ? ` ${l.name}` : ""}`)
    .join(" ⊃ ");
  const table = [
    row("address", d.address),
    row("allocator", d.allocator === null ? undefined : `${d.allocator} (${d.state})`),
    row("base", d.base),
    row("size", d.size === null ? undefined : `${d.size} bytes`),
    row("offset", d.offset === null ? undefined : String(d.offset)),
    row("type", d.type ?? (d.allocator === null ? undefined : `unknown (${NO_TYPES_ADVICE})`)),
    row("field", d.path ? `${d.path}${d.pathType ? ` (${d.pathType})` : ""}` : undefined),
    row("site", siteText(d.site)),
    row("chain", chain),
    ...(d.notes ?? []).map((n) => row("note", n)),
  ].join("");
  return (
    `<h2>${escapeXml(headline(d))}</h2>` +
    `<div class="picture">${renderHierarchySvg(d)}</div>` +
    `<table class="facts">${table}</table>`
  );
}

const CENSUS_ROWS = 25;

/** The heap census as horizontal bars (bytes), largest first, with counts: HTML rows whose bars
 * are a percentage of the row, so the chart is as wide as the panel and its text stays its size;
 * a long label is cut with an ellipsis (the whole label in its tooltip). Each row links to the
 * allocations it counts. */
export function renderCensusChart(c: CensusJson): string {
  const rows = [...c.rows].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
  const shown = rows.slice(0, CENSUS_ROWS);
  const rest = rows.slice(CENSUS_ROWS);
  const max = Math.max(1, ...shown.map((r) => r.bytes));
  const parts: string[] = [];
  for (const r of shown) {
    const filter = censusRowFilter(r);
    const label = censusRowLabel(r, c.by);
    const pct = Math.max(0.5, (r.bytes / max) * 100);
    // a site's end (file:line) tells rows apart: a long one is cut at its start
    const cut = c.by === "site" ? " cut-start" : "";
    const inner =
      `<span class="label${cut}" title="${escapeXml(label)}"><bdi>${escapeXml(label)}</bdi></span>` +
      `<span class="track"><span class="cbar" style="width:${pct.toFixed(1)}%"></span></span>` +
      `<span class="size">${escapeXml(`${humanBytes(r.bytes)} in ${r.count}`)}</span>`;
    parts.push(
      filter !== undefined
        ? `<a class="census-row link" href="${escapeXml(commandUri(VIEW_COMMANDS.list, [filter]))}" title="list these allocations">${inner}</a>`
        : `<div class="census-row">${inner}</div>`,
    );
  }
  if (rows.length === 0)
    parts.push(`<div class="census-row"><span class="label">no live heap allocations</span></div>`);
  if (rest.length > 0) {
    const bytes = rest.reduce((n, r) => n + r.bytes, 0);
    const count = rest.reduce((n, r) => n + r.count, 0);
    parts.push(
      `<div class="census-more">${escapeXml(`… ${rest.length} more rows: ${humanBytes(bytes)} in ${count}`)}</div>`,
    );
  }
  return `<div class="census chart" role="table" aria-label="heap census by ${escapeXml(c.by)}">${parts.join("")}</div>`;
}

export function renderCensusHtml(c: CensusJson): string {
  const t = c.total;
  const stats = c.runtimeStats;
  const summary =
    `${t.chunks} live heap allocation${t.chunks === 1 ? "" : "s"}, ${humanBytes(t.bytes)} requested` +
    (t.poolObjects ? `; ${t.poolObjects} pool objects, ${humanBytes(t.poolBytes ?? 0)}` : "") +
    (stats ? `; ${stats.totalAllocs} allocations and ${stats.totalFrees} frees so far` : "");
  // no row with a type: the program has no metadata (a row of unknown type among typed ones is
  // an allocation inside a library, e.g. stdio's buffer)
  const untyped =
    c.by === "type" && c.rows.length > 0 && c.rows.every((r) => r.type === null || r.type === undefined);
  const advice = untyped
    ? `<p class="note">Allocations of unknown type: ${escapeXml(NO_TYPES_ADVICE)}.</p>`
    : "";
  return `<h2>Heap by ${escapeXml(c.by)}</h2><p>${escapeXml(summary)}</p>${advice}` + renderCensusChart(c);
}

/** The census by site and by type on one page: a row links to its allocations. */
export function renderCensusPageHtml(bySite: CensusJson, byType: CensusJson | undefined): string {
  const hint = `<p class="hint">Click a row to list its allocations; click an allocation to describe it.</p>`;
  return renderCensusHtml(bySite) + (byType !== undefined ? renderCensusHtml(byType) : "") + hint;
}

/** The allocations behind a census row, each linking to its description. */
export function renderListHtml(title: string, ls: LsJson): string {
  const rows = ls.entries
    .map((e) => {
      const link = escapeXml(commandUri(VIEW_COMMANDS.describe, [e.base]));
      return (
        `<tr><td><a href="${link}">${escapeXml(e.base)}</a></td><td class="num">${escapeXml(humanBytes(e.size))}</td>` +
        `<td>${escapeXml(e.type ?? "?")}</td><td>${escapeXml(siteText(e.site) ?? "?")}</td></tr>`
      );
    })
    .join("");
  const more = ls.matched > ls.entries.length ? ` (the first ${ls.entries.length} shown)` : "";
  return (
    `<h2>${escapeXml(title)}</h2><p>${ls.matched} live allocation${ls.matched === 1 ? "" : "s"}${more}</p>` +
    `<table class="list"><tr><th>address</th><th>size</th><th>type</th><th>site</th></tr>${rows}</table>`
  );
}

interface FlatNode {
  node: NestedMapNode;
  depth: number;
}

function flatten(nodes: readonly NestedMapNode[], depth: number, out: FlatNode[]): void {
  for (const n of nodes) {
    out.push({ node: n, depth });
    flatten(n.children, depth + 1, out);
  }
}

const MAP_ROWS = 400;

/** " (allocs runtime)" on the runtime's library, " (allocs runtime: the site table, ...)" on the
 * memory it reserved: not the program's. */
function runtimeLabel(own: RuntimeOwnJson | null): string {
  if (own === null) return "";
  if (own.part === "library") return " (allocs runtime)";
  return ` (allocs runtime${own.holds.length > 0 ? `: ${own.holds.join(", ")}` : ""})`;
}

/** The memory map: every big allocation as a row, nested by containment (no child larger than
 * its parent), children indented; HTML columns (name, address, bar, size) so a long name is cut
 * with an ellipsis before the address column and the chart is as wide as the panel; bar length
 * on a log scale of the size (4 KiB to 1 TiB span the track). The allocs runtime's library and
 * the tables it reserved are labelled, muted and their bars hatched: not the program's memory. */
export function renderMemoryMapChart(nodes: readonly MapNodeJson[]): string {
  const flat: FlatNode[] = [];
  flatten(nestMaps(nodes), 0, flat);
  const shown = flat.slice(0, MAP_ROWS);
  const parts: string[] = [];
  for (const { node, depth } of shown) {
    const base = BigInt(node.base);
    const lg = Math.log2(Math.max(1, node.size));
    const pct = Math.max(1, Math.min(1, Math.max(0, (lg - 10) / 30)) * 100);
    const name = node.name ? ` ${basename(node.name)}` : "";
    const own = runtimeLabel(node.runtime);
    const label = `${node.allocator}${name}${own}`;
    const tip = `${node.allocator}${node.name ? ` ${node.name}` : ""}${own}`;
    parts.push(
      `<div class="map-row d${Math.min(depth, 4)}${node.runtime ? ` runtime ${node.runtime.part}` : ""}" data-allocator="${escapeXml(node.allocator)}">` +
        `<span class="label${depth === 0 ? " title" : ""}" style="padding-left:${depth * 16}px" title="${escapeXml(tip)}">${escapeXml(label)}</span>` +
        `<span class="addr">${hex(base)}</span>` +
        `<span class="track"><span class="mbar d${Math.min(depth, 4)}" style="width:${pct.toFixed(1)}%"></span></span>` +
        `<span class="size">${escapeXml(`${humanBytes(node.size)} ${node.flags ?? ""}`.trim())}</span></div>`,
    );
  }
  if (flat.length > shown.length)
    parts.push(`<div class="map-more">… ${flat.length - shown.length} more</div>`);
  if (flat.length === 0)
    parts.push(
      `<div class="map-row"><span class="label">no mappings known (is the runtime preloaded?)</span></div>`,
    );
  return `<div class="memory-map chart" role="table" aria-label="memory map">${parts.join("")}</div>`;
}

export function renderMemoryMapHtml(nodes: readonly MapNodeJson[]): string {
  return `<h2>Memory map</h2>${renderMemoryMapChart(nodes)}`;
}

const STYLE = `
body { font-family: var(--vscode-font-family, sans-serif); color: var(--vscode-foreground, #222);
  background: var(--vscode-editor-background, #fff); padding: 8px 16px; }
h2 { font-size: 1.05em; font-weight: 600; }
svg { width: 100%; max-width: 1200px; height: auto; }
.chart { font-family: var(--vscode-editor-font-family, monospace); font-size: 12px; }
.chart .census-row, .chart .map-row { display: flex; align-items: center; gap: 8px; height: 20px;
  color: inherit; text-decoration: none; }
.chart .label { flex: 0 0 38%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; box-sizing: border-box; }
.census .label { text-align: right; }
.census .label.cut-start { direction: rtl; }
.chart .label.title { font-weight: 600; }
.chart .addr { flex: 0 0 19ch; text-align: right; color: var(--vscode-descriptionForeground, #666); }
.chart .track { flex: 1 1 auto; min-width: 40px; }
.chart .size { flex: 0 0 12ch; white-space: nowrap; color: var(--vscode-descriptionForeground, #666); }
.chart .cbar, .chart .mbar { display: block; height: 12px; border-radius: 2px; }
a.census-row:hover { background: var(--vscode-list-hoverBackground, #eef); }
.map-row.runtime .label { color: var(--vscode-descriptionForeground, #888); font-style: italic; }
.map-row.runtime .mbar { background: repeating-linear-gradient(135deg, var(--vscode-descriptionForeground, #888) 0 3px, transparent 3px 6px); }
p.note { color: var(--vscode-editorWarning-foreground, #a60); }
p.hint { color: var(--vscode-descriptionForeground, #666); }
table.list { border-collapse: collapse; }
table.list th { text-align: left; padding: 2px 12px 2px 0; color: var(--vscode-descriptionForeground, #666); font-weight: normal; }
table.list td { font-family: var(--vscode-editor-font-family, monospace); padding: 2px 12px 2px 0; }
table.list td.num { text-align: right; }
a { color: var(--vscode-textLink-foreground, #36c); }
svg text { font-family: var(--vscode-editor-font-family, monospace); font-size: 11px;
  fill: var(--vscode-foreground, #222); }
svg text.title { font-weight: 600; }
svg text.addr, svg text.size { fill: var(--vscode-descriptionForeground, #666); }
svg text.addr-title { font-weight: 600; fill: var(--vscode-charts-red, #d33); }
svg text.offset { fill: var(--vscode-charts-red, #d33); font-weight: 600; }
svg text.type { font-style: italic; }
.bar { fill: var(--vscode-editorWidget-background, #eef1f5); stroke: var(--vscode-editorWidget-border, #99a); }
.leaf-bar { fill: var(--vscode-diffEditor-insertedTextBackground, #dcefdc); }
.inner { fill: var(--vscode-charts-blue, #3b7dd8); opacity: 0.8; }
.zoom { fill: var(--vscode-charts-blue, #3b7dd8); opacity: 0.12; }
.mark { stroke: var(--vscode-charts-red, #d33); stroke-width: 2; }
.cbar { background: var(--vscode-charts-blue, #3b7dd8); }
.mbar { background: var(--vscode-charts-blue, #3b7dd8); }
.mbar.d1 { background: var(--vscode-charts-green, #3a9a5b); }
.mbar.d2 { background: var(--vscode-charts-orange, #d9822b); }
.mbar.d3, .mbar.d4 { background: var(--vscode-charts-purple, #8a5cc2); }
table.facts { border-collapse: collapse; margin-top: 8px; }
table.facts th { text-align: left; padding: 2px 12px 2px 0; color: var(--vscode-descriptionForeground, #666);
  font-weight: normal; vertical-align: top; }
table.facts td { font-family: var(--vscode-editor-font-family, monospace); padding: 2px 0; }
`;

/** A whole webview page: no scripts, inline styles only. */
export function renderPage(title: string, body: string, cspSource = ""): string {
  const csp =
    `default-src 'none'; style-src 'unsafe-inline' ${cspSource}; img-src ${cspSource} data:;`.replace(
      /\s+/g,
      " ",
    );
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${escapeXml(csp)}">` +
    `<title>${escapeXml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}
