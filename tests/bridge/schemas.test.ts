// The TypeScript side of the JSON contracts: extension/src/description-json.ts (what the adapter
// and the extension read) against docs/schema/description.schema.json (what both fronts write,
// validated in the decoder's tests and on real gdb and lldb answers in lldb.test.ts).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../lib/programs";
import { schemaDoc, validate } from "../lib/json-schema";

interface TsField {
  optional: boolean;
  types: string[];
}

/** The fields of `export interface NAME { readonly f?: T | null; ... }` in a source file. */
function tsInterface(source: string, name: string): Map<string, TsField> {
  const m = new RegExp(`export interface ${name} \\{([^}]*)\\}`).exec(source);
  assert.ok(m, `no interface ${name}`);
  const out = new Map<string, TsField>();
  for (const line of m[1].split("\n")) {
    const f = /^\s*readonly (\w+)(\?)?: (.+);$/.exec(line);
    if (f) out.set(f[1], { optional: f[2] === "?", types: f[3].split("|").map((t) => t.trim()) });
  }
  return out;
}

/** The JSON types a schema node allows (following $ref and anyOf one level). */
function schemaTypes(node: Record<string, unknown>, doc: string): string[] {
  if (typeof node.$ref === "string") {
    const [file, pointer] = node.$ref.split("#");
    let target = schemaDoc(file || doc);
    for (const part of pointer.split("/").filter(Boolean)) target = target[part];
    return schemaTypes(target, file || doc);
  }
  if (Array.isArray(node.anyOf))
    return node.anyOf.flatMap((n: Record<string, unknown>) => schemaTypes(n, doc));
  if (Array.isArray(node.type)) return node.type as string[];
  if (typeof node.type === "string") return [node.type];
  if (Array.isArray(node.enum)) return ["string"];
  return [];
}

const TS_OF_JSON: Record<string, string> = {
  integer: "number",
  number: "number",
  string: "string",
  null: "null",
};

/** Every field the schema requires is in the interface, every interface field is in the schema,
 * with the same types (an object or array schema needs a named TS type; null exactly when the
 * schema allows it). A reader may
 * mark a field optional (`?`) that the writer always sends: that is lenient, never wrong. */
function sameShape(
  iface: Map<string, TsField>,
  schema: { properties: Record<string, Record<string, unknown>>; required?: string[] },
  doc: string,
  what: string,
): void {
  const props = schema.properties;
  const required: string[] = schema.required ?? [];
  for (const k of iface.keys()) assert.ok(k in props, `${what}.${k} is in the schema`);
  for (const k of required) assert.ok(iface.has(k), `${what}.${k}, always written, is in the TS type`);
  for (const [k, node] of Object.entries(props)) {
    const ts = iface.get(k);
    if (ts === undefined) continue; // a field not always written (being added): readers may ignore it
    const json = schemaTypes(node, doc);
    assert.equal(
      ts.types.includes("null"),
      json.includes("null"),
      `${what}.${k}: null allowed on both sides or neither`,
    );
    for (const t of json.filter((t) => t in TS_OF_JSON && t !== "null"))
      assert.ok(
        ts.types.includes(TS_OF_JSON[t]),
        `${what}.${k}: the schema allows ${t}, the TS type is ${ts.types.join(" | ")}`,
      );
    if (json.includes("boolean")) assert.ok(ts.types.includes("boolean"), `${what}.${k}: boolean`);
  }
}

describe("JSON schemas and the TypeScript types", () => {
  const source = fs.readFileSync(path.join(ROOT, "extension", "src", "description-json.ts"), "utf8");
  const description = schemaDoc("description.schema.json");

  it("DescriptionJson and LevelJson have the schema's fields and types", () => {
    sameShape(
      tsInterface(source, "DescriptionJson"),
      description,
      "description.schema.json",
      "DescriptionJson",
    );
    sameShape(
      tsInterface(source, "LevelJson"),
      description.$defs.level,
      "description.schema.json",
      "LevelJson",
    );
  });

  it("SiteJson holds every field of every site shape, each nullable", () => {
    const site = tsInterface(source, "SiteJson");
    const fields = new Set<string>();
    const shapes = (description.properties.site.anyOf as { $ref?: string }[])
      .map((s) => s.$ref?.replace("#/$defs/", ""))
      .filter((s): s is string => s !== undefined);
    assert.deepEqual(shapes, ["heapSite", "stackSite", "staticSite", "obstackSite"]);
    for (const shape of shapes)
      for (const k of Object.keys(description.$defs[shape].properties)) fields.add(k);
    assert.deepEqual([...site.keys()].sort(), [...fields].sort());
    for (const [k, f] of site) assert.ok(f.types.includes("null"), `SiteJson.${k} allows null`);
  });

  it("the documented example of docs/address-description.md is valid", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "address-description.md"), "utf8");
    const m = /## Example[\s\S]*?```json\n([\s\S]*?)```/.exec(doc);
    assert.ok(m, "an example in the doc");
    assert.deepEqual(validate("description.schema.json", JSON.parse(m[1])), []);
  });
});
