// The worker `allocs typegen` generates in on a terminal (commands/typegen.ts draws the progress
// bar): typegen's worker (typegen/src/meta/worker.ts), its modules compiled through the CLI's code
// cache like the main thread's (a worker has its own module loader).
import { installCodeCache } from "../compile-cache";
import { ROOT } from "../paths";

installCodeCache(ROOT);
// eslint-disable-next-line @typescript-eslint/no-require-imports
require("../../../typegen/src/meta/worker");
