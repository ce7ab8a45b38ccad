// The bridge's JSON the view tests draw (vscode-fixtures.ts) is
// checked against its JSON Schema in docs/schema, so a hand-kept copy cannot drift from what the
// bridge may answer.
import { strict as assert } from "node:assert";
import { CENSUS, MAPS, PTS_Y, TYPED } from "./vscode-fixtures";
import { validate } from "../lib/json-schema";

describe("vscode: the bridge's JSON these tests draw", () => {
  it("matches docs/schema: every copy is an answer the bridge may give", () => {
    assert.deepEqual(validate("description.schema.json", PTS_Y), []);
    assert.deepEqual(validate("description.schema.json", TYPED), []);
    assert.deepEqual(validate("census.schema.json", CENSUS), []);
    assert.deepEqual(validate("maps.schema.json", { maps: MAPS }), []);
  });
});
