// `pipeline verify [DIR]`: check an exported model in llama.cpp — it loads, stops on the Modelfile's stops,
// agrees with our tfjs model token for token, and (with an adapter) merged = base + adapter.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { parseFlag } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { jsonSummaryOn, log, summary } from "../log.ts";
import { evalItemFromExample } from "../export/eval.ts";
import { openGguf } from "../gguf/reader.ts";
import { readExamples, readExportRecord } from "../export/export.ts";
import { ADAPTER_FILE, exportNameFor, FINAL_FILE, finetuneNameFor, MODELFILE, TRAINED_MODEL_FILE, VERIFY_FILE } from "../layout.ts";
import { modelfileStops, verifyExport, verifyMarkdown } from "../export/verify.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description:
      "Verify an exported model directory (model.gguf + Modelfile) in llama.cpp: it loads; greedy answers to a\n" +
      "  few training questions end on one of the Modelfile's stops; llama.cpp's next-token choice equals our tfjs\n" +
      "  model's; with adapter.gguf and Modelfile.adapter, the merged model answers as base + adapter.\n" +
      "  Writes verify.json beside the model. Exit code 1 when a required check fails.\n" +
      "  Example: pipeline verify merged_models/docs-tiny",
  },
  args: {
    dir: { type: "positional", required: false, description: "Export directory (default <EXPORT_OUTPUT_DIR>/<EXPORT_MODEL_NAME>)", valueHint: "DIR" },
    data: { type: "string", description: "Training data whose questions probe the model (default <PIPELINE_QA_DIR>/training_data_final.jsonl)", valueHint: "FILE" },
    "max-tokens": { type: "string", description: "Longest answer before a probe counts as not stopping (default 96)", valueHint: "N" },
    ...commonArgs,
  },
  async run({ args }) {
    const settings = settingsFromArgs(args);
    const dir = resolve(args.dir ?? join(settings.exportOutputDir, exportNameFor(settings.exportModelName, finetuneNameFor(settings.finetuneModelName))));
    const modelPath = join(dir, TRAINED_MODEL_FILE);
    const modelfile = join(dir, MODELFILE);
    for (const f of [modelPath, modelfile]) {
      if (!existsSync(f)) throw new PipelineError("E_INPUT", `${basename(f)} not found; run \`pipeline export\` first or name the export directory`, { file: f });
    }
    const data = resolve(args.data ?? join(settings.qaDir, FINAL_FILE));
    const probes = existsSync(data)
      ? (await readExamples(data)).map(evalItemFromExample).filter((x) => !!x).slice(0, 3).map((i) => ({ question: i!.question, answer: i!.reference, ...(i!.system ? { system: i!.system } : {}) }))
      : [{ question: "What is this document about?" }];
    const adapterPath = join(dir, ADAPTER_FILE);
    // The base the adapter applies to, as export recorded it (export.json), not parsed back out of Modelfile.adapter.
    let basePath = existsSync(adapterPath) ? (await readExportRecord(dir))?.basePath : undefined;
    if (basePath && !existsSync(basePath)) { log.warn(`verify: base model ${basePath} is gone; skipping the base + adapter comparison`); basePath = undefined; }
    const maxTokens = parseFlag("max-tokens", args["max-tokens"]);
    const report = await verifyExport({
      modelPath, stop: await modelfileStops(modelfile), probes,
      ...(basePath ? { basePath, adapterPath } : {}),
      quantized: await isQuantized(modelPath),
      backend: settings.finetuneBackend,
      ...(maxTokens ? { maxTokens } : {}),
    });
    await writeFile(join(dir, VERIFY_FILE), JSON.stringify(report, null, 2) + "\n");
    process.stderr.write(verifyMarkdown(report));
    // The verdict is verify's stdout either way: as is, or as its part of --json's one object.
    if (jsonSummaryOn()) summary("verify", { ok: report.ok, checks: report.checks });
    else process.stdout.write(JSON.stringify({ ok: report.ok, checks: report.checks }) + "\n");
    if (!report.ok) throw new PipelineError("E_EXPORT", `verification failed: ${report.checks.filter((c) => !c.ok && c.required).map((c) => c.name).join("; ")}`, { file: modelPath });
  },
});

/** q8_0 rounding can flip a near tie between merged and base + adapter; only then is that check advisory. */
async function isQuantized(path: string): Promise<boolean> {
  const f = await openGguf(path);
  try {
    return f.tensors.some((t) => !["F32", "F16", "BF16"].includes(t.type));
  } finally {
    await f.close();
  }
}
