// One AbortSignal is shared by every in-flight request of a stage, and each request listens to it for
// as long as it runs: with --concurrency above 10 Node would warn of a leak that is not one.
import { setMaxListeners } from "node:events";

const raised = new WeakSet<AbortSignal>();

export function allowManyListeners(signal: AbortSignal): void {
  if (raised.has(signal)) return;
  raised.add(signal);
  setMaxListeners(0, signal);
}
