// Bench (issue 5 § Measure): N chunks through `qa | validate | format` (three processes, unix pipes) against
// a loopback OpenAI server with latency, in its own process. Reports peak RSS of each step (GNU time %M),
// wall time, and the steady end-to-end rate (examples/s between the first and last output line) against
// the concurrency ideal C / latency. With --extractive, the offline path on data/documents instead:
// share of kept pairs grounded and duplicate questions kept.
//   node --import tsx bench/data-steps.ts --chunks 10000 --concurrency 16 --latency 100
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { writeBenchChunks } from "./data-steps-chunks.ts";

const { values } = parseArgs({ options: { chunks: { type: "string", default: "10000" }, concurrency: { type: "string", default: "16" }, latency: { type: "string", default: "100" }, "max-old-space": { type: "string" } } });
const N = Number(values.chunks), C = Number(values.concurrency), L = Number(values.latency);
const BIN = resolve("bin/pipeline");
const dir = mkdtempSync(join(tmpdir(), "bench-data-steps-"));

const writeChunks = () => writeBenchChunks(join(dir, "chunks.ndjson"), N);

async function startServer(): Promise<{ baseURL: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/data-steps-server.ts", "--latency", String(L)], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once("line", r));
  return { baseURL: JSON.parse(line).baseURL, stop: () => child.stdin!.end() };
}

await writeChunks();
const server = await startServer();
const time = (name: string) => `/usr/bin/time -o "${join(dir, `${name}.rss`)}" -f %M`;
const llm = `--provider openai --model bench --base-url ${server.baseURL} --concurrency ${C} --no-cache`;
const cmd =
  `${time("qa")} "${process.execPath}" "${BIN}" qa -i "${dir}" --questions-per-chunk 1 ${llm} 2>"${join(dir, "qa.err")}" | ` +
  `${time("validate")} "${process.execPath}" "${BIN}" validate ${llm} 2>"${join(dir, "validate.err")}" | ` +
  `${time("format")} "${process.execPath}" "${BIN}" format --template openai --records 2>"${join(dir, "format.err")}"`;

const t0 = performance.now();
// --max-old-space N caps V8's old generation for the three steps (NODE_OPTIONS): RSS then shows live memory
// rather than V8's lazy heap growth.
const heap = values["max-old-space"] ? { NODE_OPTIONS: `--max-old-space-size=${values["max-old-space"]}` } : {};
// bash with pipefail: a step that dies (say, out of heap) fails the run instead of just ending the stream.
const child = spawn("bash", ["-o", "pipefail", "-c", cmd], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, OPENAI_API_KEY: "sk-bench-key-0123456789", ...heap } });
let lines = 0, first = 0, last = 0;
const rl = createInterface({ input: child.stdout! });
rl.on("line", () => { const t = performance.now(); if (!lines) first = t; last = t; lines++; });
const [code] = await once(child, "close");
const wall = (performance.now() - t0) / 1000;
server.stop();

const rss = (n: string) => Math.round(Number(readFileSync(join(dir, `${n}.rss`), "utf8").trim().split("\n").at(-1)) / 1024);
const steady = lines > 1 ? (lines - 1) / ((last - first) / 1000) : 0;
const ideal = C / (L / 1000);
console.log(JSON.stringify({ chunks: N, concurrency: C, latencyMs: L, maxOldSpaceMB: values["max-old-space"] ?? "default", exit: code, examples: lines, wallSeconds: +wall.toFixed(1),
  steadyPerSecond: +steady.toFixed(1), idealPerSecond: ideal, ofIdeal: +(steady / ideal).toFixed(3),
  peakRssMB: { qa: rss("qa"), validate: rss("validate"), format: rss("format") } }));
// What each step said at the end (counts of failures, duplicates, drops), for the record.
const tail = (n: string) => readFileSync(join(dir, `${n}.err`), "utf8").split("\n").filter((l) => /generate-qa:|Total Q&A|PASS:|FAIL:|Near-dup|Grounding|Generation fail|Judge fail|format:|error/.test(l));
console.log(JSON.stringify({ qa: tail("qa"), validate: tail("validate"), format: tail("format") }, null, 1));
rmSync(dir, { recursive: true, force: true });
