// Bench (issue 20 § 1): generate-qa and validate against a loopback server with a heavy latency tail
// (log-normal, p99 = 20 × median) and with 3% hung requests, as a share of the concurrency ideal:
// ideal = the same requests' service times (latency; the timeout for a hang) packed onto C slots, each
// request started as soon as a slot is free; share = ideal / the span the server saw from first request
// to last answer. The time-weighted share of the span at each number of requests in flight is printed too.
//   node --import tsx bench/tail-latency.ts --chunks 600 --concurrency 8
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { writeBenchChunks } from "./data-steps-chunks.ts";

const { values } = parseArgs({ options: { chunks: { type: "string", default: "600" }, concurrency: { type: "string", default: "8" }, scenarios: { type: "string", default: "tail,hangs,both" } } });
const N = Number(values.chunks), C = Number(values.concurrency);
const BIN = resolve("bin/pipeline");
const dir = mkdtempSync(join(tmpdir(), "bench-tail-"));

const SCENARIOS: Record<string, { server: string[]; timeout: number; label: string }> = {
  tail: { label: "log-normal, median 100 ms, p99 2 s", server: ["--median", "100", "--p99-factor", "20"], timeout: 120 },
  hangs: { label: "200 ms + 3% hangs, --timeout 2", server: ["--median", "200", "--fixed", "--hang-rate", "0.03"], timeout: 2 },
  both: { label: "log-normal (median 100 ms, p99 2 s) + 3% hangs, --timeout 5", server: ["--median", "100", "--p99-factor", "20", "--hang-rate", "0.03"], timeout: 5 },
};

async function runStepAgainstServer(step: string, args: string[], scenario: (typeof SCENARIOS)[string], seed: number) {
  const server = spawn(process.execPath, ["--import", "tsx", "bench/tail-latency-server.ts", ...scenario.server, "--timeout", String(scenario.timeout), "--seed", String(seed), "--concurrency", String(C)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout! });
  const next = () => new Promise<string>((r) => lines.once("line", r));
  const { baseURL } = JSON.parse(await next());
  const llm = ["--provider", "openai", "--model", "bench", "--base-url", baseURL, "--concurrency", String(C), "--timeout", String(scenario.timeout), "--no-cache", "--quiet"];
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, step, ...args, ...llm], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, OPENAI_API_KEY: "sk-bench-key-0123456789" } });
  const [code] = await once(child, "close");
  const wall = (performance.now() - t0) / 1000;
  const booksLine = next();
  server.stdin!.end();
  const books = JSON.parse(await booksLine);
  const ideal = books.idealMs;
  return { step, exit: code, requests: books.requests, hangs: books.hangs, timedOut: books.timedOut, wallSeconds: +wall.toFixed(1),
    busySeconds: +(books.spanMs / 1000).toFixed(1), idealSeconds: +(ideal / 1000).toFixed(1), ofIdeal: +(ideal / books.spanMs).toFixed(3),
    recordsPerSecond: +(N / (books.spanMs / 1000)).toFixed(1), inFlightShares: books.inFlight };
}

await writeBenchChunks(join(dir, "chunks.ndjson"), N);
const rows: unknown[] = [];
for (const name of values.scenarios!.split(",")) {
  const scenario = SCENARIOS[name]!;
  const qa = await runStepAgainstServer("qa", ["-i", dir, "-o", join(dir, name), "--questions-per-chunk", "1"], scenario, 1);
  const validate = await runStepAgainstServer("validate", ["-i", join(dir, name, "training_data.json"), "-o", join(dir, name, "validation_report.json")], scenario, 2);
  for (const r of [qa, validate]) {
    const row = { scenario: scenario.label, chunks: N, concurrency: C, ...r };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
rmSync(dir, { recursive: true, force: true });
