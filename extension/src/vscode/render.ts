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

/** The heap census as horizontal bars (bytes), largest first, with counts. */
export function renderCensusSvg(c: CensusJson): string {
  const rows = [...c.rows].sort((a, b) => b.bytes - a.bytes || b.count - a.count);
  const shown = rows.slice(0, CENSUS_ROWS);
  const rest = rows.slice(CENSUS_ROWS);
  const max = Math.max(1, ...shown.map((r) => r.bytes));
  const labelW = 300;
  const barX = LEFT + labelW;
  const barMax = WIDTH - barX - 150;
  const rh = 24;
  const top = 10;
  const parts: string[] = [];
  shown.forEach((r, i) => {
    const y = top + i * rh;
    const w = Math.max(2, (r.bytes / max) * barMax);
    let label = censusRowLabel(r);
    if (label.length > 44) label = `${label.slice(0, 43)}…`;
    const filter = censusRowFilter(r);
    if (filter !== undefined) parts.push(`<a href="${escapeXml(commandUri(VIEW_COMMANDS.list, [filter]))}">`);
    parts.push(`<g class="census-row${filter !== undefined ? " link" : ""}">`);
    parts.push(`<title>${escapeXml(`${censusRowLabel(r)}: list these allocations`)}</title>`);
    parts.push(text(barX - 8, y + 15, label, "label", "end"));
    parts.push(
      `<rect class="cbar" x="${barX}" y="${y + 3}" width="${w.toFixed(1)}" height="${rh - 6}" rx="2"/>`,
    );
    parts.push(text(barX + w + 6, y + 15, `${humanBytes(r.bytes)} in ${r.count}`, "size"));
    parts.push("</g>");
    if (filter !== undefined) parts.push("</a>");
  });
  if (rows.length === 0) parts.push(text(LEFT, top + 15, "no live heap allocations", "label"));
  if (rest.length > 0) {
    const bytes = rest.reduce((s, r) => s + r.bytes, 0);
    const count = rest.reduce((s, r) => s + r.count, 0);
    parts.push(
      text(
        LEFT,
        top + shown.length * rh + 15,
        `… ${rest.length} more rows: ${humanBytes(bytes)} in ${count}`,
        "label",
      ),
    );
  }
  const height = top + (Math.max(1, shown.length) + (rest.length > 0 ? 1 : 0)) * rh + 10;
  return (
    `<svg class="census" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="heap census by ${escapeXml(c.by)}">${parts.join("")}</svg>`
  );
}

export function renderCensusHtml(c: CensusJson): string {
  const t = c.total;
  const stats = c.runtimeStats;
  const summary =
    `${t.chunks} live heap allocation${t.chunks === 1 ? "" : "s"}, ${humanBytes(t.bytes)} requested` +
    (t.poolObjects ? `; ${t.poolObjects} pool objects, ${humanBytes(t.poolBytes ?? 0)}` : "") +
    (stats ? `; ${stats.totalAllocs} allocations and ${stats.totalFrees} frees so far` : "");
  const untyped = c.by === "type" && c.rows.some((r) => r.type === null || r.type === undefined);
  const advice = untyped
    ? `<p class="note">Allocations of unknown type: ${escapeXml(NO_TYPES_ADVICE)}.</p>`
    : "";
  return (
    `<h2>Heap by ${escapeXml(c.by)}</h2><p>${escapeXml(summary)}</p>${advice}` +
    `<div class="picture">${renderCensusSvg(c)}</div>`
  );
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
/** monospace 11px: about this many pixels per character */
const CHAR_W = 6.7;

/** The memory map: every big allocation as a row, nested by containment (no child larger than
 * its parent), children indented; the name column is cut to its own width so it never runs into
 * the address column; bar length on a log scale of the size (4 KiB to 1 TiB span the width). The
 * allocs runtime's library and what lies in it are labelled. */
export function renderMemoryMapSvg(nodes: readonly MapNodeJson[]): string {
  const flat: FlatNode[] = [];
  flatten(nestMaps(nodes), 0, flat);
  const shown = flat.slice(0, MAP_ROWS);
  const rh = 22;
  const top = 8;
  const indent = 16;
  const labelW = 330;
  const addrW = 19 * CHAR_W;
  const addrX = LEFT + labelW + addrW;
  const barX = addrX + 10;
  const barMax = WIDTH - barX - 90;
  const parts: string[] = [];
  shown.forEach(({ node, depth }, i) => {
    const y = top + i * rh;
    const base = BigInt(node.base);
    const lg = Math.log2(Math.max(1, node.size));
    const w = Math.max(3, Math.min(1, Math.max(0, (lg - 10) / 30)) * barMax);
    const name = node.name ? ` ${basename(node.name)}` : "";
    const own = isRuntimeObject(node.name) ? " (allocs runtime)" : node.runtime ? " (runtime)" : "";
    let label = `${node.allocator}${name}${own}`;
    const room = Math.max(6, Math.floor((labelW - depth * indent - 8) / CHAR_W));
    if (label.length > room) label = `${label.slice(0, room - 1)}…`;
    const cls = node.runtime ? " runtime" : "";
    parts.push(`<g class="map-row${cls}" data-allocator="${escapeXml(node.allocator)}">`);
    if (node.name) parts.push(`<title>${escapeXml(`${node.allocator} ${node.name}${own}`)}</title>`);
    parts.push(text(LEFT + depth * indent, y + 15, label, depth === 0 ? "title" : "label"));
    parts.push(text(addrX, y + 15, hex(base), "addr", "end"));
    parts.push(
      `<rect class="mbar d${Math.min(depth, 4)}${cls}" x="${barX}" y="${y + 4}" width="${w.toFixed(1)}" height="${rh - 8}" rx="2"/>`,
    );
    parts.push(text(barX + w + 6, y + 15, `${humanBytes(node.size)} ${node.flags ?? ""}`.trim(), "size"));
    parts.push("</g>");
  });
  if (flat.length > shown.length) {
    parts.push(text(LEFT, top + shown.length * rh + 15, `… ${flat.length - shown.length} more`, "label"));
  }
  if (flat.length === 0)
    parts.push(text(LEFT, top + 15, "no mappings known (is the runtime preloaded?)", "label"));
  const height = top + (Math.max(1, shown.length) + 1) * rh;
  return (
    `<svg class="memory-map" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="memory map">${parts.join("")}</svg>`
  );
}

export function renderMemoryMapHtml(nodes: readonly MapNodeJson[]): string {
  return `<h2>Memory map</h2><div class="picture">${renderMemoryMapSvg(nodes)}</div>`;
}

const STYLE = `
body { font-family: var(--vscode-font-family, sans-serif); color: var(--vscode-foreground, #222);
  background: var(--vscode-editor-background, #fff); padding: 8px 16px; }
h2 { font-size: 1.05em; font-weight: 600; }
svg { width: 100%; max-width: 1600px; height: auto; }
svg a { cursor: pointer; }
svg .link:hover rect { opacity: 0.7; }
.map-row.runtime text.label, .map-row.runtime text.title { fill: var(--vscode-descriptionForeground, #888); font-style: italic; }
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
.cbar { fill: var(--vscode-charts-blue, #3b7dd8); }
.mbar { fill: var(--vscode-charts-blue, #3b7dd8); }
.mbar.d1 { fill: var(--vscode-charts-green, #3a9a5b); }
.mbar.d2 { fill: var(--vscode-charts-orange, #d9822b); }
.mbar.d3, .mbar.d4 { fill: var(--vscode-charts-purple, #8a5cc2); }
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
