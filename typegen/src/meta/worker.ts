// Runs generateMeta in a worker thread so the CLI's main thread can draw a progress bar.
import { parentPort, workerData } from "node:worker_threads";
import { GenerateOptions, generateMeta } from "./generate";
import { tuneV8ForTypegen } from "./v8-tuning";

tuneV8ForTypegen();

const { prog, opts } = workerData as { prog: string; opts: GenerateOptions };
try {
  const result = generateMeta(prog, {
    ...opts,
    onStage: (stage, fraction) => parentPort?.postMessage({ stage, fraction }),
  });
  parentPort?.postMessage({ result });
} catch (e) {
  const err = e as Error;
  parentPort?.postMessage({ error: { name: err.name, message: err.message } });
}
