// Shared by the vscode-*.test.ts files: the bridge's JSON captured from test-programs/ui_heap.c
// (a description, a census, a memory map) and helpers that read the rendered HTML/SVG back. The
// rendered pages are written to .test-output/extension/ to be looked at.
import * as fs from "node:fs";
import * as path from "node:path";

import type { CensusJson, DescriptionJson, MapNodeJson } from "../../extension/src/vscode/description";

export const OUT = path.resolve(__dirname, "..", "..", "..", ".test-output", "extension");

// `alloc info --json &pts[1].y` in test-programs/ui_heap.c, stopped at its BREAK line
export const PTS_Y: DescriptionJson = {
  address: "0x5555555592ac",
  allocator: "__default_lib_malloc",
  base: "0x5555555592a0",
  size: 24,
  offset: 12,
  type: null,
  uniqtype: null,
  path: "",
  pathType: null,
  state: "live",
  site: {
    pc: "0x55555555516b",
    function: "main",
    file: "/work/main/test-programs/ui_heap.c",
    line: 14,
    seq: 1,
  },
  chain: [
    { allocator: "mmap", base: "0x555555559000", size: 135168, name: "[heap]" },
    { allocator: "brk", base: "0x555555559000", size: 135168, name: null },
    { allocator: "__default_lib_malloc", base: "0x5555555592a0", size: 24, name: null },
  ],
  runtime: true,
  notes: [],
  damage: [],
};

// the same with type metadata and a pool object inside the chunk
export const TYPED: DescriptionJson = {
  ...PTS_Y,
  allocator: "pool",
  base: "0x5555555592a8",
  size: 8,
  offset: 4,
  type: "struct point",
  path: ".y",
  pathType: "int",
  chain: PTS_Y.chain,
  notes: ["a <note> & more"],
};

// `alloc census --json` at the same stop
export const CENSUS: CensusJson = {
  by: "site",
  rows: [
    {
      site: {
        pc: "0x555555555179",
        function: "main",
        file: "/work/main/test-programs/ui_heap.c",
        line: 15,
        seq: null,
      },
      count: 1,
      bytes: 42,
    },
    {
      site: {
        pc: "0x55555555516b",
        function: "main",
        file: "/work/main/test-programs/ui_heap.c",
        line: 14,
        seq: null,
      },
      count: 1,
      bytes: 24,
    },
  ],
  total: { chunks: 2, bytes: 66, poolObjects: 0, poolBytes: 0 },
  runtimeStats: { liveChunks: 2, liveBytes: 66, totalAllocs: 2, totalFrees: 0 },
};

// the start of `alloc maps --json`
export const MAPS: MapNodeJson[] = [
  {
    allocator: "elf_file",
    base: "0x555555554000",
    size: 16432,
    name: "/tmp/ui_heap",
    flags: "---f",
    runtime: null,
    children: [
      {
        allocator: "elf_segment",
        base: "0x555555554000",
        size: 1672,
        name: "/tmp/ui_heap",
        flags: "r--f",
        runtime: null,
        children: [],
      },
      {
        allocator: "elf_segment",
        base: "0x555555557dd0",
        size: 608,
        name: "/tmp/ui_heap",
        flags: "rw-f",
        runtime: null,
        children: [],
      },
    ],
  },
  {
    allocator: "mmap",
    base: "0x555555559000",
    size: 135168,
    name: "[heap]",
    flags: "rw-",
    runtime: null,
    children: [
      {
        allocator: "brk",
        base: "0x555555559000",
        size: 135168,
        name: null,
        flags: "rw-",
        children: [],
        runtime: null,
      },
    ],
  },
  {
    allocator: "mmap",
    base: "0x7ffff55e0000",
    size: 39976960,
    name: null,
    flags: "rw-",
    children: [],
    runtime: null,
  },
];

/** The numbers of one SVG element's attribute, in document order. */
export function attrs(svg: string, element: string, attr: string, cls?: string): number[] {
  const re = new RegExp(`<${element}\\b[^>]*>`, "g");
  return [...svg.matchAll(re)]
    .map((m) => m[0])
    .filter((tag) => cls === undefined || new RegExp(`class="[^"]*\\b${cls}\\b`).test(tag))
    .map((tag) => Number(new RegExp(`\\b${attr}="([-\\d.]+)"`).exec(tag)?.[1]));
}

/** The percentage widths of a chart's bars of one class, in document order. */
export function barWidths(html: string, cls: string): number[] {
  return [...html.matchAll(new RegExp(`class="${cls}[^"]*" style="width:([\\d.]+)%"`, "g"))].map((m) =>
    Number(m[1]),
  );
}

/** A chart's label cells: [indentation in px, text]. */
export function chartLabels(html: string): [number, string][] {
  return [
    ...html.matchAll(
      /<span class="label[^"]*"(?: style="padding-left:(\d+)px")?[^>]*>(?:<bdi>)?([^<]*)(?:<\/bdi>)?<\/span>/g,
    ),
  ].map((m) => [Number(m[1] ?? 0), m[2]]);
}

export function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

export function save(name: string, html: string): void {
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, name), html);
}
