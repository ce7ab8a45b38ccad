// The heap graph's answers as HTML tables (no scripts): leaks by kind, type and site
// (`allocs/leaks`), the growth between two snapshots by type and by site, with a bar per row
// (`allocs/diff`), and the retainer chains of one allocation (`allocs/retainers`). Pure functions
// of the bridge's JSON (docs/snapshot-format.md), unit-tested without VS Code.
import { escapeXml } from "./render";
import { humanBytes } from "./description";

export interface SiteJson {
  function: string | null;
  file: string | null;
  line: number | null;
  pc: string | null;
}

export interface LeakGroupJson {
  kind: "definite" | "indirect" | "conservative";
  type: string | null;
  site: SiteJson;
  count: number;
  bytes: number;
  example: string;
  untyped: number;
}

export interface CountBytes {
  count: number;
  bytes: number;
}

export interface LeaksJson {
  groups: LeakGroupJson[];
  definite: CountBytes;
  indirect: CountBytes;
  conservative: CountBytes;
  live: CountBytes;
}

export interface DiffRowJson {
  type?: string;
  site?: string;
  added: number;
  addedBytes: number;
  freed: number;
  freedBytes: number;
  net: number;
  netBytes: number;
}

export interface DiffJson {
  from: string;
  to: string;
  total: Omit<DiffRowJson, "type" | "site">;
  byType: DiffRowJson[];
  bySite: DiffRowJson[];
}

export interface RetainersJson {
  target: { base: string; size: number; type: string | null };
  reachable: boolean;
  chains: { length: number; steps: { text: string }[] }[];
}

export function isLeaks(v: unknown): v is LeaksJson {
  return typeof v === "object" && v !== null && Array.isArray((v as LeaksJson).groups) && "definite" in v;
}

export function isDiff(v: unknown): v is DiffJson {
  return typeof v === "object" && v !== null && Array.isArray((v as DiffJson).byType) && "total" in v;
}

export function isRetainers(v: unknown): v is RetainersJson {
  return typeof v === "object" && v !== null && Array.isArray((v as RetainersJson).chains) && "target" in v;
}

function siteLabel(s: SiteJson): string {
  if (s.file && s.line !== null) return `${s.function ?? "?"} at ${s.file.split("/").pop()}:${s.line}`;
  return s.function ?? s.pc ?? "(unknown site)";
}

const TITLES: Record<LeakGroupJson["kind"], string> = {
  definite: "Definitely lost",
  indirect: "Indirectly lost (reachable only from leaked chunks)",
  conservative: "Reachable only through untyped memory",
};

export function renderLeaksHtml(j: LeaksJson): string {
  const parts = [
    `<h2>Leaks</h2><p>${escapeXml(
      `${j.definite.count} chunks (${humanBytes(j.definite.bytes)}) definitely lost, ` +
        `${j.indirect.count} (${humanBytes(j.indirect.bytes)}) indirectly, of ${j.live.count} live chunks`,
    )}</p>`,
  ];
  for (const kind of ["definite", "indirect", "conservative"] as const) {
    const rows = j.groups.filter((g) => g.kind === kind);
    if (!rows.length) continue;
    parts.push(`<h3>${escapeXml(TITLES[kind])}</h3><table><tr><th>count</th><th>bytes</th><th>type</th>`);
    parts.push(`<th>site</th><th>example</th></tr>`);
    for (const g of rows) {
      parts.push(
        `<tr><td>${g.count}</td><td>${g.bytes}</td><td>${escapeXml(g.type ?? "(type unknown)")}</td>` +
          `<td>${escapeXml(siteLabel(g.site))}</td><td><code>${escapeXml(g.example)}</code></td></tr>`,
      );
    }
    parts.push("</table>");
  }
  if (!j.definite.count && !j.indirect.count) parts.push("<p>No leaks: every live chunk is reachable.</p>");
  return parts.join("");
}

function diffTable(title: string, key: "type" | "site", rows: readonly DiffRowJson[], limit: number): string {
  const most = Math.max(1, ...rows.map((r) => Math.abs(r.netBytes)));
  const out = [`<h3>${escapeXml(title)}</h3><table><tr><th>net</th><th></th><th>+count</th><th>+bytes</th>`];
  out.push(`<th>-count</th><th>-bytes</th><th>${key}</th></tr>`);
  for (const r of rows.slice(0, limit)) {
    const w = Math.round((120 * Math.abs(r.netBytes)) / most);
    const colour = r.netBytes >= 0 ? "#c0504d" : "#4f81bd";
    out.push(
      `<tr><td>${r.netBytes >= 0 ? "+" : ""}${r.netBytes}</td>` +
        `<td><svg width="120" height="10"><rect width="${w}" height="10" fill="${colour}"/></svg></td>` +
        `<td>${r.added}</td><td>${r.addedBytes}</td><td>${r.freed}</td><td>${r.freedBytes}</td>` +
        `<td>${escapeXml(r[key] ?? "?")}</td></tr>`,
    );
  }
  out.push("</table>");
  return out.join("");
}

export function renderDiffHtml(j: DiffJson, limit = 200): string {
  const t = j.total;
  return (
    `<h2>${escapeXml(`From ${j.from} to ${j.to}`)}</h2><p>${escapeXml(
      `+${t.added} chunks (${humanBytes(t.addedBytes)}), -${t.freed} (${humanBytes(t.freedBytes)}), ` +
        `net ${t.net >= 0 ? "+" : ""}${t.net} chunks`,
    )}</p>` +
    diffTable("By type", "type", j.byType, limit) +
    diffTable("By site", "site", j.bySite, limit)
  );
}

export function renderRetainersHtml(j: RetainersJson): string {
  const head = `${j.target.base} (${j.target.size} bytes, ${j.target.type ?? "type unknown"})`;
  if (!j.reachable) return `<h2>${escapeXml(head)}</h2><p>No root reaches it: it is leaked.</p>`;
  const items = j.chains.map(
    (c) =>
      `<li>${c.steps.map((s) => escapeXml(s.text)).join(" → ")} → ${escapeXml(j.target.type ?? "?")}</li>`,
  );
  return `<h2>${escapeXml(head)}</h2><ol>${items.join("")}</ol>`;
}

/** What "Show Retainers" asks about for a variable of the Variables or Watch view: the address its
 * value starts with (a pointer, shown with its summary after it), else its expression. */
export function retainersInput(
  v: { value?: string; evaluateName?: string; name?: string } | undefined,
): string | undefined {
  if (v === undefined) return undefined;
  const leading = /^(?:\([^)]*\)\s*)?(0x[0-9a-fA-F]+)\b/.exec((v.value ?? "").trim());
  return leading !== null ? leading[1] : (v.evaluateName ?? v.name);
}
