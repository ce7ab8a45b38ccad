#!/usr/bin/env node
// Entry point for `npx allocs` / the package's bin: the compiled CLI lives in dist/.
"use strict";
try {
  const argv = process.argv.slice(2);
  // The CLI's modules compile through a V8 code cache (cli/src/compile-cache.ts): start-up counts.
  const cache = require("../dist/cli/src/compile-cache.js");
  const root = require("node:path").join(__dirname, "..");
  cache.installCodeCache(root, cache.codeCacheFile(root, argv[0] === "typegen" ? "typegen" : "cli"));
  // `allocs typegen` loads only its own command: it runs once per binary, so start-up counts.
  if (argv[0] === "typegen") require("../dist/cli/src/commands/typegen.js").typegenMain(argv.slice(1));
  else require("../dist/cli/src/main.js").main(argv);
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes("dist/cli")) {
    console.error(
      "allocs: the CLI is not built yet; run `npm install` (or `npm run build`) in the checkout first.",
    );
    process.exit(2);
  }
  throw e;
}
