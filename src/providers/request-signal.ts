// The signal one request attempt runs under: aborts at the timeout or when the caller's signal does, and is
// released the moment the attempt settles.
//
// Why not AbortSignal.timeout() / AbortSignal.any(): Node keeps a timeout signal, and a composite signal
// with live sources, strongly reachable for as long as it has an "abort" listener and has not fired
// (lib/internal/abort_controller.js, gcPersistentSignals). The vendor SDKs (openai, @anthropic-ai/sdk) add
// such a listener to the signal they are given and never remove it, so every finished request stayed in
// memory with its SDK AbortController and closures until its timer ran out: ≈ 2 KB per request, for
// --timeout seconds (120 s by default), i.e. the whole run at a few hundred requests per second.
// A plain AbortController with a timer we clear ourselves is garbage as soon as the attempt is over.
import { setMaxListeners } from "node:events";

const raised = new WeakSet<AbortSignal>();

/** Run `fn` with a signal that aborts after `timeoutMs` (reason: a TimeoutError) or when `outer` aborts. */
export async function withRequestSignal<T>(timeoutMs: number, outer: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const own = new AbortController();
  const timer = setTimeout(() => own.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), timeoutMs);
  const onAbort = () => own.abort(outer!.reason);
  if (outer) {
    if (!raised.has(outer)) {
      raised.add(outer);
      setMaxListeners(0, outer); // one listener per request in flight: --concurrency above 10 is normal
    }
    if (outer.aborted) own.abort(outer.reason);
    else outer.addEventListener("abort", onAbort, { once: true });
  }
  try {
    return await fn(own.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
  }
}
