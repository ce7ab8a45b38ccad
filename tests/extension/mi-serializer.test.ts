// The GDB/MI command serializer: tokens, operations, quoting, console and raw commands.
import assert from "node:assert/strict";

import { formatCommand, consoleCommand, MICommandError } from "../../extension/src/mi";

describe("MI command serializer", () => {
  it("writes token, operation and bare arguments", () => {
    assert.equal(
      formatCommand({ operation: "-break-insert", args: ["-t", "main"] }, 5),
      "5-break-insert -t main",
    );
    assert.equal(formatCommand({ operation: "exec-run" }), "-exec-run");
    assert.equal(
      formatCommand({ operation: "-data-read-memory-bytes", args: ["0x1000", "16"] }, 1),
      "1-data-read-memory-bytes 0x1000 16",
    );
  });

  it("quotes arguments with spaces, quotes, backslashes, control characters; empty ones too", () => {
    assert.equal(formatCommand({ operation: "-x", args: ["a b"] }), '-x "a b"');
    assert.equal(formatCommand({ operation: "-x", args: ['say "hi"'] }), '-x "say \\"hi\\""');
    assert.equal(formatCommand({ operation: "-x", args: ["C:\\dir"] }), '-x "C:\\\\dir"');
    assert.equal(formatCommand({ operation: "-x", args: ["l1\nl2\tt\r"] }), '-x "l1\\nl2\\tt\\r"');
    assert.equal(formatCommand({ operation: "-x", args: ["\u0001"] }), '-x "\\001"');
    assert.equal(formatCommand({ operation: "-x", args: [""] }), '-x ""');
  });

  it("passes non-ASCII text as UTF-8 inside quotes", () => {
    assert.equal(formatCommand({ operation: "-x", args: ["é€"] }), '-x "é€"');
  });

  it("console commands wrap CLI text for -interpreter-exec", () => {
    assert.equal(
      formatCommand(consoleCommand('print "a b"'), 9),
      '9-interpreter-exec console "print \\"a b\\""',
    );
  });

  it("raw text for CLI-backed commands goes verbatim; line breaks and bad names are refused", () => {
    assert.equal(formatCommand({ operation: "-gdb-set", raw: 'args "x y"' }, 2), '2-gdb-set args "x y"');
    assert.throws(() => formatCommand({ operation: "-gdb-set", raw: "a\nb" }), MICommandError);
    assert.throws(() => formatCommand({ operation: "-x y" }), MICommandError);
    assert.throws(() => formatCommand({ operation: "" }), MICommandError);
  });
});
