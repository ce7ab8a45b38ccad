#!/usr/bin/env node
// Entry point for `npx allocs` / the package's bin: the compiled CLI lives in dist/.
"use strict";
try {
  require("../dist/cli/src/main.js").main(process.argv.slice(2));
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND" && String(e.message).includes("dist/cli")) {
    console.error("allocs: the CLI is not built yet; run `npm install` (or `npm run build`) in the checkout first.");
    process.exit(2);
  }
  throw e;
}
