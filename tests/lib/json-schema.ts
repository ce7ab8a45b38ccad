// A JSON Schema validator for the subset docs/schema/*.json use (the same subset as
// gdb-python-bridge/tests/schema_subset.py): type, properties, required, additionalProperties
// (a boolean), items, enum, pattern, minimum, anyOf, and $ref to a JSON pointer in the same file
// or another file of docs/schema.
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./programs";

export const SCHEMA_DIR = path.join(ROOT, "docs", "schema");

/* eslint-disable @typescript-eslint/no-explicit-any -- schemas and values are checked structurally */
type Node = any;

const docs = new Map<string, Node>();

export function schemaDoc(name: string): Node {
  if (!docs.has(name)) docs.set(name, JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, name), "utf8")));
  return docs.get(name);
}

function isType(v: unknown, t: string): boolean {
  switch (t) {
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "null":
      return v === null;
    case "array":
      return Array.isArray(v);
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    default:
      return typeof v === t;
  }
}

function resolve(ref: string, doc: string): [Node, string] {
  const [file, pointer = ""] = ref.split("#");
  const d = file || doc;
  let node = schemaDoc(d);
  for (const part of pointer.split("/").filter(Boolean))
    node = node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  return [node, d];
}

function check(s: Node, v: Node, doc: string, at: string, errors: string[]): void {
  if (s.$ref) {
    const [target, tdoc] = resolve(s.$ref, doc);
    check(target, v, tdoc, at, errors);
  }
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => isType(v, t))) {
      errors.push(`${at}: ${JSON.stringify(v)?.slice(0, 80)} is not ${types.join("/")}`);
      return;
    }
  }
  if (s.enum && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} is not one of ${s.enum}`);
  if (s.pattern && typeof v === "string" && !new RegExp(s.pattern).test(v))
    errors.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
  if (s.minimum !== undefined && typeof v === "number" && v < s.minimum)
    errors.push(`${at}: ${v} < ${s.minimum}`);
  if (s.anyOf) {
    const tries: string[][] = [];
    for (const alt of s.anyOf) {
      const e: string[] = [];
      check(alt, v, doc, at, e);
      if (e.length === 0) break;
      tries.push(e);
    }
    if (tries.length === s.anyOf.length)
      errors.push(`${at}: matches none of anyOf: ${tries.map((e) => e[0]).join(" | ")}`);
  }
  if (isType(v, "object")) {
    const props = s.properties ?? {};
    for (const k of s.required ?? []) if (!(k in v)) errors.push(`${at}: lacks ${k}`);
    for (const [k, x] of Object.entries(v)) {
      if (k in props) check(props[k], x, doc, `${at}.${k}`, errors);
      else if (s.additionalProperties === false) errors.push(`${at}: unexpected field ${k}`);
    }
  }
  if (Array.isArray(v) && s.items) v.forEach((x, i) => check(s.items, x, doc, `${at}[${i}]`, errors));
}

/** What is wrong with `value` according to docs/schema/NAME (empty when it is valid). */
export function validate(name: string, value: unknown): string[] {
  const errors: string[] = [];
  check(schemaDoc(name), value, name, "$", errors);
  return errors;
}
