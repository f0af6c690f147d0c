// `pipeline model`: look inside a GGUF model file or a Hugging Face checkpoint, or convert a GGUF's tensors to another type.
import { basename } from "node:path";
import { defineCommand } from "citty";
import { PipelineError } from "../errors.ts";
import { log, summary } from "../log.ts";
import { commonArgs, settingsFromArgs } from "./args.ts";

const info = defineCommand({
  meta: {
    name: "info",
    description:
      "Show a GGUF model: architecture, sizes, hyperparameters, whether it can be fine-tuned here (and why not),\n" +
      "  metadata, tensor table and chat template. A Hugging Face checkpoint folder or hub name (org/repo[@revision],\n" +
      "  from the HF cache, downloaded unless HF_HUB_OFFLINE=1) shows its architecture, parameters, dtype, tokenizer,\n" +
      "  chat template and whether it can be fine-tuned.\n" +
      "  Examples:\n    pipeline model info merged_models/my-model/model.gguf\n    pipeline model info model.gguf --json | jq .hyperparameters\n" +
      "    pipeline model info ./Qwen2.5-0.5B-Instruct\n    pipeline model info Qwen/Qwen2.5-0.5B-Instruct",
  },
  args: {
    ...commonArgs,
    file: { type: "positional", required: true, description: "A .gguf file, a checkpoint folder or a Hugging Face name", valueHint: "FILE|DIR|ORG/REPO" },
    json: { type: "boolean", description: "Print JSON instead of text" },
    "all-tensors": { type: "boolean", description: "List every tensor, not the first and last ones" },
  },
  async run({ args }) {
    settingsFromArgs(args);
    const hf = await import("../hf/info.ts");
    if (hf.isCheckpointSpec(args.file)) {
      const s = await hf.checkpointSummary(args.file);
      process.stdout.write(args.json ? JSON.stringify(s, null, 2) + "\n" : hf.formatCheckpointSummary(s));
      return;
    }
    const { ggufInfo, formatGgufInfo } = await import("../gguf/info.ts");
    const { checkGgufFile } = await import("../model/preflight.ts");
    const i = await ggufInfo(args.file);
    const { trainable, reason } = await checkGgufFile(args.file);
    if (args.json) process.stdout.write(JSON.stringify({ ...i, trainable, ...(trainable ? {} : { notTrainableReason: reason }) }, null, 2) + "\n");
    else process.stdout.write(formatGgufInfo(i, { allTensors: args["all-tensors"], trainable: trainable ? "yes" : `no — ${reason}` }));
  },
});

const convert = defineCommand({
  meta: {
    name: "convert",
    description:
      "Re-encode a GGUF model's tensors to one type; metadata is kept. Types: f32, f16, bf16, q8_0, q4_0, q4_1,\n" +
      "  q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, and llama.cpp's mixes q4_k_m, q5_k_m (its\n" +
      "  per-tensor choices: Q6_K output and more-bits attn_v/ffn_down layers). 1-D tensors stay f32. Matrices whose rows do\n" +
      "  not fit a 256-value block fall back as llama.cpp's quantizer does (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0,\n" +
      "  q2_k/q3_k → q4_0, iq4_xs → iq4_nl), and to f16 when not even 32 fits.\n" +
      "  Example:\n    pipeline model convert model-f16.gguf model-q8_0.gguf --type q8_0",
  },
  args: {
    ...commonArgs,
    input: { type: "positional", required: true, description: "Source .gguf", valueHint: "IN" },
    output: { type: "positional", required: true, description: "Destination .gguf (written beside, renamed when complete)", valueHint: "OUT" },
    type: { type: "string", description: "Target tensor type: f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | q5_0 | q5_1 | q2_k | q3_k | q4_k | q5_k | q6_k | iq4_nl | iq4_xs | q4_k_m | q5_k_m", default: "q8_0" },
  },
  async run({ args }) {
    settingsFromArgs(args);
    const { convertGguf, parseTensorType } = await import("../gguf/convert.ts");
    const type = parseTensorType(args.type);
    const t0 = Date.now();
    const r = await convertGguf(args.input, args.output, type);
    const fallbacks = Object.entries(r.fallbacks).map(([t, n]) => `${n} as ${t}`).join(", ");
    summary("model convert", { output: args.output, type, bytes: r.bytes, converted: r.converted, kept: r.kept, fallbacks: r.fallbacks, seconds: (Date.now() - t0) / 1000 });
    log.info(`wrote ${args.output}: ${(r.bytes / 1e6).toFixed(1)} MB, ${r.converted} tensors converted to ${type}, ${r.kept} already of their type, in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (fallbacks) log.info(`rows not a multiple of ${type}'s block (llama.cpp's fallback): ${fallbacks}`);
    if (type.endsWith("_M")) log.info(`${type}, llama.cpp's per-tensor choices and fallbacks: ${Object.entries(r.types).map(([t, n]) => `${n} ${t}`).join(", ")}`);
  },
});

const cache = defineCommand({
  meta: {
    name: "cache",
    description:
      "List the GGUFs converted from Hugging Face checkpoints (DOCS2MODEL_CACHE, default ~/.cache/docs2model,\n" +
      "  /checkpoints): size, last use, source, and whether the checkpoint is unchanged (current), changed (stale) or gone.\n" +
      "  A new conversion removes the same checkpoint's older ones by itself.\n" +
      "  --prune removes stale, source-gone and unlabelled entries and dead partial files; --all removes every entry.\n" +
      "  Examples:\n    pipeline model cache\n    pipeline model cache --prune",
  },
  args: {
    ...commonArgs,
    prune: { type: "boolean", description: "Remove the entries that cannot be used again" },
    all: { type: "boolean", description: "With --prune: remove every entry (they are re-converted when next needed)" },
    json: { type: "boolean", description: "Print JSON instead of text" },
  },
  async run({ args }) {
    settingsFromArgs(args);
    const { checkpointCacheDir, CONVERTER_VERSION } = await import("../hf/convert.ts");
    const { listCache, pruneCache } = await import("../hf/checkpoint-cache.ts");
    const dir = checkpointCacheDir();
    if (args.all && !args.prune) throw new PipelineError("E_USAGE", "--all goes with --prune: pipeline model cache --prune --all", { field: "--all" });
    const entries = args.prune ? pruneCache(dir, CONVERTER_VERSION, { all: args.all }) : listCache(dir, CONVERTER_VERSION);
    const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
    const total = entries.reduce((a, e) => a + e.bytes, 0);
    if (args.json) {
      const rows = entries.map((e) => ({ path: e.path, bytes: e.bytes, lastUsed: e.lastUsed.toISOString(), state: e.state, source: e.record?.repo ?? e.record?.source }));
      process.stdout.write(JSON.stringify({ dir, [args.prune ? "removed" : "entries"]: rows, bytes: total }, null, 2) + "\n");
      return;
    }
    const lines = entries.map((e) => `${basename(e.path)}\t${mb(e.bytes)}\t${e.lastUsed.toISOString().slice(0, 16).replace("T", " ")}\t${e.state}\t${e.record?.repo ?? e.record?.source ?? ""}`);
    if (args.prune) log.info(`removed ${entries.length} entr${entries.length === 1 ? "y" : "ies"} (${mb(total)}) from ${dir}`);
    else process.stdout.write(lines.length ? `${lines.join("\n")}\n${entries.length} entr${entries.length === 1 ? "y" : "ies"}, ${mb(total)} in ${dir}\n` : `no converted checkpoints in ${dir}\n`);
    if (args.prune && lines.length) process.stdout.write(lines.join("\n") + "\n");
  },
});

export default defineCommand({
  meta: { name: "model", description: "Inspect or convert GGUF model files, manage converted checkpoints (info, convert, cache)" },
  subCommands: { info, convert, cache },
});
