// One AbortSignal is shared by every record of a stage. Requests get a short-lived signal of their own,
// linked to it: Node 20's AbortSignal.any() (used per request by the client) keeps a weak reference in
// its *source* for good, which on a long-lived shared signal grew ~50 bytes per request (measured 26 MB
// per 500k); and the shared signal then carries one listener per in-flight request, not one per request ever.
import { setMaxListeners } from "node:events";

const raised = new WeakSet<AbortSignal>();

function allowManyListeners(signal: AbortSignal): void {
  if (raised.has(signal)) return;
  raised.add(signal);
  setMaxListeners(0, signal); // --concurrency above 10 is normal, not a leak
}

/** Run `fn` with a signal that aborts when `shared` does, and is dropped when `fn` settles. */
export async function withRecordSignal<T>(shared: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  allowManyListeners(shared);
  const own = new AbortController();
  if (shared.aborted) own.abort(shared.reason);
  const onAbort = () => own.abort(shared.reason);
  shared.addEventListener("abort", onAbort, { once: true });
  try {
    return await fn(own.signal);
  } finally {
    shared.removeEventListener("abort", onAbort);
  }
}
