// Ctrl-C handlers that stop cleanly (keep what is finished, say how to resume), marked so the CLI's own
// handler knows to let them work instead of exiting at once. A handler another library installs is not
// marked, so it cannot leave Ctrl-C doing nothing.
const GRACEFUL = Symbol("graceful SIGINT handler");

/** Registers `handler` for SIGINT as one that stops cleanly; returns the function that removes it. */
export function onInterrupt(handler: () => void): () => void {
  const marked = Object.assign(() => handler(), { [GRACEFUL]: true });
  process.on("SIGINT", marked);
  return () => { process.off("SIGINT", marked); };
}

/** True while some step is ready to stop cleanly on Ctrl-C. */
export const stopsCleanlyOnInterrupt = (): boolean => process.listeners("SIGINT").some((l) => GRACEFUL in l);
