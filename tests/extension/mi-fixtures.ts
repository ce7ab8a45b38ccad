// The gdb/MI transcripts captured by tests/extension/fixtures/capture.sh from real gdb 13 on
// test-programs/mi_target.c, parsed, and how the tests pick records out of them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";

import {
  field,
  parseTranscript,
  type MIAsyncRecord,
  type MIRecord,
  type MIResultRecord,
  type MIStreamRecord,
  type MITuple,
} from "../../extension/src/mi";

// dist/tests/extension -> repository root
const FIXTURES = path.resolve(__dirname, "../../../tests/extension/fixtures");

export function fixture(name: string): MIRecord[] {
  return parseTranscript(readFileSync(path.join(FIXTURES, name)));
}

export function resultFor(records: MIRecord[], token: number): MIResultRecord {
  const r = records.find((x): x is MIResultRecord => x.kind === "result" && x.token === token);
  assert.ok(r, `no result record with token ${token}`);
  return r;
}

export function asyncs(records: MIRecord[], asyncClass: string): MIAsyncRecord[] {
  return records.filter((x): x is MIAsyncRecord => x.kind === "async" && x.asyncClass === asyncClass);
}

export function streams(records: MIRecord[], stream: MIStreamRecord["stream"]): string[] {
  return records
    .filter((x): x is MIStreamRecord => x.kind === "stream" && x.stream === stream)
    .map((s) => s.text);
}

export function tupleField(r: { results: MITuple["results"] }, name: string): MITuple {
  const v = field(r, name);
  assert.ok(typeof v === "object" && v.kind === "tuple", `${name} is not a tuple`);
  return v;
}
