// Issue 14's "done when": for each of the nine Ollama bases, laid out as its real file (test/fixtures/real-bases.ts),
// `pipeline all --base FILE` offline exits 0, the exported GGUF loads in llama.cpp, and it is the model that was
// trained: llama.cpp's mean loss on the training answers (every packed example run as its own sequence) equals the
// trainer's own loss on the same rows after its last step (training_report.json trainLossAtEnd).
//   node --import tsx bench/real-bases.ts [--only qwen2.5:0.5b,gemma3:1b] [--epochs 30] [--keep]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { llamaCppLoss } from "../src/export/answer-loss.ts";
import { REAL_BASES, writeRealBase } from "../test/fixtures/real-bases.ts";

// Random weights (std 0.02) know nothing, so the adapter must carry every answer: a higher learning rate than a
// pretrained base needs, and enough epochs for the answers and their end token to be learned. Every document is
// trained on (--valid-split 0): verify's probes are then training questions, which a random base can only answer
// (and stop on) when it has learned them. Exported as f16 so "the model that was trained" is compared without the
// export's rounding (random weights at std 0.3 are far more sensitive to it than a pretrained model's).
const { values: a } = parseArgs({ options: { only: { type: "string" }, epochs: { type: "string", default: "60" }, lr: { type: "string", default: "0.01" }, keep: { type: "boolean" } } });
const bases = a.only ? REAL_BASES.filter((b) => a.only!.split(",").includes(b.name)) : REAL_BASES;

const DOCS: Record<string, string> = {
  "kettle.md": "# Acme kettle\n\nACME_WARRANTY is the warranty period of two years from the date of purchase.\nACME_RETURNS is the return window of thirty days from delivery.\nACME_SUPPORT is the support line, open from nine to five on weekdays.\n",
  "lamp.txt": "LUMO_BULB is the lamp bulb of nine watts with a warm white light.\nLUMO_CABLE is the power cable of two metres with a switch.\n",
  "desk.md": "# Oaken desk\n\nOAK_TOP is the desk top of solid oak, oiled twice.\nOAK_LEGS is the set of four steel legs with felt pads.\n",
};

async function main(): Promise<void> {
  console.log(`# real bases: ${bases.map((b) => b.name).join(", ")}; ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}, FINETUNE_EPOCHS ${a.epochs}, FINETUNE_LEARNING_RATE ${a.lr}`);
  const rows: string[] = [];
  for (const b of bases) {
    const dir = mkdtempSync(join(tmpdir(), "bench-real-base-"));
    try {
      mkdirSync(join(dir, "docs"));
      for (const [f, t] of Object.entries(DOCS)) writeFileSync(join(dir, "docs", f), t);
      const t0 = performance.now();
      const base = await writeRealBase(b, { dir });
      const env: Record<string, string | undefined> = { ...process.env, FINETUNE_SEQ_LEN: "256", FINETUNE_EPOCHS: a.epochs, FINETUNE_LEARNING_RATE: a.lr, OLLAMA_HOST: "127.0.0.1:9" };
      for (const k of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "PIPELINE_LLM_PROVIDER", "FINETUNE_MODEL_NAME"]) delete env[k];
      // Run inside the folder with relative paths, as a user would: document ids (and so the split) do not depend
      // on the temporary folder's name.
      const run = spawnSync(process.execPath, [join(process.cwd(), "bin/pipeline"), "all", "-i", "docs", "--base", base, "--no-ollama", "--valid-split", "0", "--quant", "f16", "--name", "probe"], {
        cwd: dir, env: { ...env, PIPELINE_CHUNKS_DIR: "chunks", PIPELINE_QA_DIR: "qa", FINETUNE_OUTPUT_DIR: "ft", EXPORT_OUTPUT_DIR: "out" },
        encoding: "utf8", input: "", timeout: 1_800_000,
      });
      const seconds = (performance.now() - t0) / 1000;
      if (run.status !== 0) {
        console.log(`${b.name}: pipeline all exited ${run.status}\n${run.stderr.slice(-2500)}`);
        rows.push(`| ${b.name} | ${b.fileType} | exit ${run.status} | | | | ${seconds.toFixed(0)} s |`);
        continue;
      }
      const ftDir = join(dir, "ft", readdirSync(join(dir, "ft"))[0]!);
      const report = JSON.parse(readFileSync(join(ftDir, "training_report.json"), "utf8"));
      const verify = JSON.parse(readFileSync(join(dir, "out", "probe", "verify.json"), "utf8"));
      const cpp = await llamaCppLoss(join(dir, "out", "probe", "model.gguf"), join(dir, "qa", "tokens", "train.tokens"));
      const ours = report.trainLossAtEnd as number;
      const diff = Math.abs(cpp.loss - ours);
      console.log(`${b.name}: exit 0 in ${seconds.toFixed(0)} s; verify ${verify.ok ? "ok" : "FAILED"}; loss on ${cpp.tokens} answer tokens: trainer ${ours.toFixed(4)}, llama.cpp ${cpp.loss.toFixed(4)} (|Δ| ${diff.toExponential(1)}); ${report.steps.done} steps`);
      if (!verify.ok) console.log(JSON.stringify(verify.checks.filter((c: { ok: boolean }) => !c.ok)));
      rows.push(`| ${b.name} | ${b.fileType} | 0 | ${verify.ok ? "ok" : "failed"} | ${ours.toFixed(4)} | ${cpp.loss.toFixed(4)} (|Δ| ${diff.toExponential(1)}) | ${seconds.toFixed(0)} s |`);
    } finally {
      if (!a.keep) rmSync(dir, { recursive: true, force: true });
      else console.log(`  kept ${dir}`);
    }
  }
  console.log("\n| base | file type | pipeline all exit | verify | trainer's loss on the training answers | llama.cpp's on the exported GGUF | time |\n|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

await main();
