// Wall time and peak RSS of the offline `pipeline all` on data/documents, split by step (goal: < 10 min on 2 cores).
// Runs the real CLI in a scratch copy of the sample documents; per-step figures come from the run's own state file
// (pipeline_all.json: wall seconds per step, process peak RSS at the end of each step), the total from /usr/bin/time.
// Usage: node --import tsx bench/all.ts
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bench-all-"));
cpSync(join(root, "data", "documents"), join(dir, "data", "documents"), { recursive: true });
const env: Record<string, string | undefined> = { ...process.env, OLLAMA_HOST: "127.0.0.1:9" };
for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME", "FINETUNE_EPOCHS"]) delete env[k];

const load = loadavg()[0]!.toFixed(1);
const timeBin = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-v"] : [];
const started = performance.now();
const run = spawnSync(timeBin[0] ?? process.execPath, [...timeBin.slice(1), ...(timeBin.length ? [process.execPath] : []), join(root, "bin", "pipeline"), "all", "--no-ollama"], { cwd: dir, env, encoding: "utf8", input: "" });
const wall = (performance.now() - started) / 1000;
if (run.status !== 0) {
  process.stderr.write(run.stderr.slice(-4000));
  process.exit(1);
}
const peakKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)?.[1] ?? NaN);
const state = JSON.parse(readFileSync(join(dir, "data", "document_training_data", "pipeline_all.json"), "utf8")) as { timings: Array<{ step: string; seconds: number; maxRssMiB: number }> };
const exported = JSON.parse(readFileSync(join(dir, "merged_models", "docs-tiny", "export.json"), "utf8")) as { verify?: boolean; eval?: Record<string, number> };
const finetune = JSON.parse(readFileSync(join(dir, "fine_tuned_models", "tiny", "training_report.json"), "utf8")) as { steps: { done: number }; tokensPerSecond: number; finalTrainLoss: number; backend: { name: string } };

const lines = [
  `load average at start ${load}; total wall ${wall.toFixed(1)} s (goal < 600 s: ${wall < 600 ? "PASS" : "FAIL"}); peak RSS ${Number.isFinite(peakKiB) ? `${(peakKiB / 1024).toFixed(0)} MiB` : "n/a"}`,
  "",
  "| step | wall s | process peak RSS at step end, MiB |",
  "|---|---|---|",
  ...state.timings.map((t) => `| ${t.step} | ${t.seconds.toFixed(1)} | ${t.maxRssMiB.toFixed(0)} |`),
  "",
  `finetune: ${finetune.steps.done} steps on ${finetune.backend.name}, ${Math.round(finetune.tokensPerSecond)} tok/s, final train loss ${finetune.finalTrainLoss.toFixed(4)}; verify ${exported.verify ? "passed" : "FAILED"}; eval ${Object.entries(exported.eval ?? {}).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(" · ")}`,
];
console.log(lines.join("\n"));
rmSync(dir, { recursive: true, force: true });
