// The worker `allocs typegen` generates in on a terminal (commands/typegen.ts draws the progress
// bar): typegen's worker (typegen/src/meta/worker.ts), its modules compiled through the CLI's code
// cache like the main thread's (a worker has its own module loader).
import { codeCacheFile, installCodeCache, releaseCodeCache } from "../compile-cache";
import { ROOT } from "../paths";

installCodeCache(ROOT, codeCacheFile(ROOT, "typegen"));
// typegen's modules first (the worker module generates as it loads), then the cache's bytes go.
/* eslint-disable @typescript-eslint/no-require-imports */
require("../../../typegen/src/meta/generate");
require("../../../typegen/src/meta/v8-tuning");
releaseCodeCache();
require("../../../typegen/src/meta/worker");
/* eslint-enable @typescript-eslint/no-require-imports */
