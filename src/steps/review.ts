// `pipeline review` from a report path to a running server: index the report, fold the decisions beside it,
// serve the page until Ctrl-C (every decision is already on disk, so stopping loses nothing).
import { spawn } from "node:child_process";
import { decisionsPathFor } from "../layout.ts";
import { log } from "../log.ts";
import { existsSync } from "node:fs";
import { ChunkIndex, ReportIndex } from "../review/report-index.ts";
import { startReviewServer, type ReviewServer } from "../review/server.ts";
import { DecisionLog, readReviewStates } from "../sinks/review-decisions.ts";
import { onInterrupt } from "../streams/interrupt.ts";

export interface ReviewRun {
  report: string;
  /** chunks.ndjson, for the source chunks (the report holds none); skipped with a warning when missing. */
  chunks?: string;
  host?: string;
  port?: number;
  threshold: number;
  open?: boolean;
  token?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** Starts the review server; resolves once it listens, with a stop function that closes server and log. */
export async function startReview(run: ReviewRun): Promise<ReviewServer & { decisionsPath: string; stop: () => Promise<void> }> {
  const started = Date.now();
  const index = await ReportIndex.build(run.report);
  let chunks: ChunkIndex | undefined;
  if (run.chunks && existsSync(run.chunks)) chunks = await ChunkIndex.build(run.chunks);
  else log.warn(`review: no chunks file${run.chunks ? ` at ${run.chunks}` : ""}; the page shows source chunks only for pairs that carry them (--chunks FILE)`);
  const decisionsPath = decisionsPathFor(run.report);
  const states = readReviewStates(decisionsPath);
  const decisions = await DecisionLog.open(decisionsPath);
  log.info(`review: ${index.count} pair(s) from ${index.docs.length} document(s) indexed in ${Date.now() - started} ms${chunks ? ` (${chunks.count} chunk(s) from ${run.chunks})` : ""}; ${states.size} pair(s) with decisions in ${decisionsPath}`);
  if (run.host && !LOOPBACK.has(run.host)) log.warn(`review: listening on ${run.host}, not loopback: anyone who can reach it and has the token can change your decisions`);
  const server = await startReviewServer({ index, chunks, states, decisions, host: run.host, port: run.port, threshold: run.threshold, token: run.token });
  const stop = async () => { await server.close(); await decisions.close(); await index.close(); await chunks?.close(); };
  return { ...server, decisionsPath, stop };
}

/** Runs until Ctrl-C: prints the URL (stdout: it is the command's output) and opens a browser only when asked. */
export async function runReview(run: ReviewRun): Promise<void> {
  const s = await startReview(run);
  process.stdout.write(s.url + "\n");
  log.info(`review: open ${s.url} — decisions go to ${s.decisionsPath}; Ctrl-C stops (nothing is lost)`);
  if (run.open) openBrowser(s.url);
  await new Promise<void>((resolve) => {
    const off = onInterrupt(() => { off(); s.stop().then(resolve, resolve); });
  });
  log.info("review: stopped");
}

/** The platform's own opener, detached; a failure is a warning with the URL to open by hand. */
function openBrowser(url: string): void {
  const [cmd, args] = process.platform === "darwin" ? ["open", [url]] : process.platform === "win32" ? ["cmd", ["/c", "start", "", url]] : ["xdg-open", [url]];
  try {
    const child = spawn(cmd as string, args as string[], { detached: true, stdio: "ignore" });
    child.on("error", () => log.warn(`review: could not start ${cmd}; open ${url} yourself`));
    child.unref();
  } catch {
    log.warn(`review: could not start ${cmd}; open ${url} yourself`);
  }
}
