// The GDB/MI parser's grammar on hand-written lines: records of every kind, values, c-strings,
// malformed input, and the splitting of a byte stream into lines. Real gdb output is parsed in
// mi-gdb-run.test.ts and mi-gdb-sessions.test.ts.
import assert from "node:assert/strict";

import { field, fieldsNamed, MILineSplitter, optString, parseRecord } from "../../extension/src/mi";
import { tupleField } from "./mi-fixtures";

describe("MI parser: grammar", () => {
  it("parses result records of every class, with and without tokens", () => {
    assert.deepEqual(parseRecord("^done"), { kind: "result", resultClass: "done", results: [] });
    assert.deepEqual(parseRecord("12^running"), {
      kind: "result",
      token: 12,
      resultClass: "running",
      results: [],
    });
    assert.deepEqual(parseRecord("3^connected"), {
      kind: "result",
      token: 3,
      resultClass: "connected",
      results: [],
    });
    assert.deepEqual(parseRecord("99^exit"), { kind: "result", token: 99, resultClass: "exit", results: [] });
    assert.deepEqual(
      parseRecord('7^error,msg="No symbol \\"x\\" in current context.",code="undefined-command"'),
      {
        kind: "result",
        token: 7,
        resultClass: "error",
        results: [
          { name: "msg", value: 'No symbol "x" in current context.' },
          { name: "code", value: "undefined-command" },
        ],
      },
    );
  });

  it("parses exec, status and notify async records with class, results and optional token", () => {
    assert.deepEqual(parseRecord('*running,thread-id="all"'), {
      kind: "async",
      channel: "exec",
      asyncClass: "running",
      results: [{ name: "thread-id", value: "all" }],
    });
    assert.deepEqual(parseRecord('5+download,{section=".text",section-size="100"}'.replace(",{", ",x={")), {
      kind: "async",
      token: 5,
      channel: "status",
      asyncClass: "download",
      results: [
        {
          name: "x",
          value: {
            kind: "tuple",
            results: [
              { name: "section", value: ".text" },
              { name: "section-size", value: "100" },
            ],
          },
        },
      ],
    });
    assert.deepEqual(parseRecord("=thread-group-added"), {
      kind: "async",
      channel: "notify",
      asyncClass: "thread-group-added",
      results: [],
    });
  });

  it("parses the three stream records", () => {
    assert.deepEqual(parseRecord('~"hello\\n"'), { kind: "stream", stream: "console", text: "hello\n" });
    assert.deepEqual(parseRecord('@"target out"'), { kind: "stream", stream: "target", text: "target out" });
    assert.deepEqual(parseRecord('&"warning: x\\n"'), {
      kind: "stream",
      stream: "log",
      text: "warning: x\n",
    });
  });

  it("recognises the prompt, with or without trailing space and CR", () => {
    assert.deepEqual(parseRecord("(gdb)"), { kind: "prompt" });
    assert.deepEqual(parseRecord("(gdb) "), { kind: "prompt" });
    assert.deepEqual(parseRecord("(gdb) \r\n"), { kind: "prompt" });
  });

  it("parses empty and nested tuples and lists, values lists and results lists", () => {
    const r = parseRecord('^done,a={},b=[],c=["x","y"],d=[f={l="0"},f={l="1"}],e=[{n="1"},[]],g={h={i="j"}}');
    assert.equal(r.kind, "result");
    assert.deepEqual(field(r, "a"), { kind: "tuple", results: [] });
    assert.deepEqual(field(r, "b"), { kind: "list", values: [] });
    assert.deepEqual(field(r, "c"), { kind: "list", values: ["x", "y"] });
    // Duplicate names in a results list are all kept, in order.
    assert.deepEqual(field(r, "d"), {
      kind: "result-list",
      results: [
        { name: "f", value: { kind: "tuple", results: [{ name: "l", value: "0" }] } },
        { name: "f", value: { kind: "tuple", results: [{ name: "l", value: "1" }] } },
      ],
    });
    assert.deepEqual(field(r, "e"), {
      kind: "list",
      values: [
        { kind: "tuple", results: [{ name: "n", value: "1" }] },
        { kind: "list", values: [] },
      ],
    });
    assert.deepEqual(field(tupleField(tupleField(r, "g"), "h"), "i"), "j");
  });

  it("keeps MI2's bare multi-location tuples under the previous name", () => {
    const r = parseRecord('^done,bkpt={number="1"},{number="1.1"},{number="1.2"}');
    assert.equal(r.kind, "result");
    assert.deepEqual(
      fieldsNamed(r, "bkpt").map((t) =>
        typeof t === "object" && t.kind === "tuple" ? optString(t, "number") : "",
      ),
      ["1", "1.1", "1.2"],
    );
  });

  it('unescapes c-strings: \\n \\t \\" \\\\ and octal; UTF-8 bytes given as octal decode to characters', () => {
    const text = (line: string): string => {
      const r = parseRecord(line);
      assert.equal(r.kind, "stream", JSON.stringify(r));
      return r.kind === "stream" ? r.text : "";
    };
    assert.equal(text('~"a\\tb\\nc\\"d\\\\e"'), 'a\tb\nc"d\\e');
    assert.equal(text('~"\\101\\060\\0end"'), "A0\0end");
    assert.equal(text('~"\\r\\b\\f\\v\\a\\e"'), "\r\b\f\v\x07\x1b");
    // é = C3 A9, € = E2 82 AC, 日 = E6 97 A5: written by gdb as octal escapes.
    assert.equal(text('~"h\\303\\251llo \\342\\202\\254 \\346\\227\\245"'), "héllo € 日");
    // Raw UTF-8 and escaped bytes of the same character are put back together.
    const mixed = Buffer.concat([Buffer.from('~"'), Buffer.from([0xe2]), Buffer.from('\\202\\254"')]);
    const rec = parseRecord(mixed);
    assert.deepEqual(rec, { kind: "stream", stream: "console", text: "€" });
    // Raw UTF-8 in the line is text too.
    assert.equal(text('~"raw é 日本"'), "raw é 日本");
    // An invalid byte sequence becomes U+FFFD instead of failing the record.
    assert.equal(text('~"bad \\377 byte"'), "bad \ufffd byte");
  });

  it("turns non-MI and malformed lines into 'other' records, never exceptions", () => {
    assert.deepEqual(parseRecord("total=19 slot=1"), { kind: "other", line: "total=19 slot=1" });
    assert.deepEqual(parseRecord("hello world"), { kind: "other", line: "hello world" });
    const unterminated = parseRecord('~"no end');
    assert.equal(unterminated.kind, "other");
    assert.match(unterminated.kind === "other" ? (unterminated.error ?? "") : "", /unterminated c-string/);
    const badValue = parseRecord("^done,a=b");
    assert.equal(badValue.kind, "other");
    assert.match(badValue.kind === "other" ? (badValue.error ?? "") : "", /expected a value/);
    const badClass = parseRecord("^weird");
    assert.equal(badClass.kind, "other");
    assert.match(badClass.kind === "other" ? (badClass.error ?? "") : "", /unknown result class "weird"/);
    assert.equal(parseRecord('^done,a={b="c"').kind, "other");
    assert.equal(parseRecord('~"x" trailing').kind, "other");
  });

  it("splits a byte stream into lines across chunks, even inside a UTF-8 character", () => {
    const splitter = new MILineSplitter();
    const bytes = Buffer.from('~"日本"\n^done\n(gdb) \n*stop');
    const lines: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 3) lines.push(...splitter.push(bytes.subarray(i, i + 3)));
    assert.deepEqual(
      lines.map((l) => l.toString("utf8")),
      ['~"日本"', "^done", "(gdb) "],
    );
    assert.equal(splitter.flush()?.toString("utf8"), "*stop");
    assert.equal(splitter.flush(), undefined);
  });
});
