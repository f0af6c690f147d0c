// Step 7: a fine-tuned model becomes <output>/<name>/ — model.gguf (merged, f16 or q8_0), adapter.gguf,
// Modelfile(s), eval and verify reports, a model card — and, when an Ollama server answers, a model in Ollama.
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { PipelineError } from "../errors.ts";
import { log } from "../log.ts";
import { installInOllama, ollamaReachable } from "../ollama/install.ts";
import { ExampleRecord } from "../records.ts";
import { modelCard } from "./model-card.ts";
import { hfIdOfGguf } from "../hf/names.ts";
import { findFinetuneArtifacts, type FinetuneArtifacts } from "./artifacts.ts";
import { evalItemsFromExample, evalSummary, runEval, type Answerer, type EvalItem, type EvalReport, type JudgeModel } from "./eval.ts";
import { openGguf } from "../gguf/reader.ts";
import { mergeToGguf, writeLoraAdapter, type ExportQuant } from "./merge.ts";
import { chatTemplateOf, ollamaTemplateFor, type ChatTemplateInfo } from "../chat/template.ts";
import type { OllamaTemplate } from "../chat/ollama-template.ts";
import { createParameters, renderModelfile } from "./modelfile.ts";
import { openLlamaRunner } from "../llama-cpp/runner.ts";
import { verifyExport, type VerifyProbe, type VerifyReport } from "./verify.ts";
import { EXPORT_RESULT_FILE, exportFolder, PEFT_ADAPTER_CONFIG_FILE, PEFT_ADAPTER_FILE, siblingPath } from "../layout.ts";
import { mergeStoreLayers, storeBaseOf } from "./store-base.ts";
import { weightClass } from "./parity.ts";
import { checkOutputDir } from "../streams/path-checks.ts";
import { exampleData, templateOf } from "../transforms/format-templates.ts";

export interface ExportOptions {
  /** fine_tuned_models/<name>/ or a .gguf in it. */
  modelPath: string;
  name: string;
  outputDir: string;
  quant: ExportQuant;
  /** Base GGUF for an adapter, when the fine-tune directory does not say. */
  base?: string;
  /** FINETUNE_MODEL_TYPE: the chat template family when the model has no template of its own. */
  family?: string;
  system?: string;
  /** The system prompt qa-train recorded (tokens.json): used when the dataset beside is gone or shares none. */
  trainedSystem?: string;
  /** The Hugging Face dataset id the training data is published under, for the card's `datasets:` (optional). */
  datasetId?: string;
  numCtx?: number;
  /** training_data_final.jsonl: its hash is provenance; its valid split is the eval set, its train split the verify probes. */
  datasetPath?: string;
  verify?: boolean;
  eval?: boolean;
  evalLimit?: number;
  judge?: JudgeModel;
  /** "auto": create the model in Ollama when a server answers at ollamaBaseUrl. */
  install?: "auto" | "never";
  ollamaBaseUrl: string;
  backend?: string;
  fetch?: typeof fetch;
  now?: Date;
}

export interface ExportResult {
  dir: string;
  modelGguf: string;
  adapterGguf?: string;
  modelfile: string;
  modelfileAdapter?: string;
  /** The base model adapter.gguf applies to (Modelfile.adapter's FROM), for `pipeline verify`. */
  basePath?: string;
  card: string;
  template: OllamaTemplate;
  verify?: VerifyReport;
  eval?: EvalReport;
  ollama: { installed: boolean; baseUrl: string; commands: string[] };
}

/** export.json as written beside the export: the result, with verify and eval reduced to their verdicts. */
export type ExportRecord = Omit<ExportResult, "verify" | "eval"> & { verify?: boolean; eval?: Record<string, number> };

export async function readExportRecord(dir: string): Promise<ExportRecord | undefined> {
  const file = join(dir, EXPORT_RESULT_FILE);
  if (!existsSync(file)) return undefined;
  try { return JSON.parse(await readFile(file, "utf8")) as ExportRecord; } catch (e) {
    throw new PipelineError("E_INPUT", `not valid JSON (${(e as Error).message}); run \`pipeline export\` again`, { file });
  }
}

export async function exportModel(o: ExportOptions): Promise<ExportResult> {
  const dir = exportFolder(o.outputDir, o.name); // checked before any work: the name goes to Ollama and the disk
  checkOutputDir(dir);
  const art = await findFinetuneArtifacts(o.modelPath, { base: o.base });
  await mkdir(dir, { recursive: true });
  const createdAt = (o.now ?? new Date()).toISOString();
  const dataset = o.datasetPath && existsSync(o.datasetPath) ? o.datasetPath : undefined;
  const datasetSha256 = dataset ? await sha256File(dataset) : undefined;
  const baseName = describeBase(art);

  const modelGguf = join(dir, "model.gguf");
  const provenance = {
    "general.name": { type: "string" as const, value: o.name },
    "general.base_model.count": { type: "u32" as const, value: 1 },
    "general.base_model.0.name": { type: "string" as const, value: baseName },
    "docs2model.base_model": { type: "string" as const, value: baseName },
    "docs2model.created_at": { type: "string" as const, value: createdAt },
    ...(datasetSha256 ? { "docs2model.dataset_sha256": { type: "string" as const, value: datasetSha256 } } : {}),
  };
  const fullModel = art.modelPath;
  const source = fullModel ?? art.basePath!;
  // The chat template the model was trained with: its own, or FINETUNE_MODEL_TYPE's preset (then written into
  // the merged GGUF, so llama.cpp and Ollama see the same template the training did).
  const src = await openGguf(source);
  let arch: string, info: ChatTemplateInfo, contextLength: number, chatSource: string, ggufLicense: string | undefined, hfBase: string | undefined;
  try {
    arch = String(src.meta("general.architecture") ?? "unknown");
    const lic = src.meta("general.license");
    ggufLicense = typeof lic === "string" && lic.trim() ? lic.trim() : undefined;
    hfBase = hfIdOfGguf((k) => src.meta(k));
    info = chatTemplateOf(src, o.family);
    chatSource = info.source === "gguf" ? "the model's own (tokenizer.chat_template)" : `the ${info.source} preset (FINETUNE_MODEL_TYPE), written into model.gguf`;
    contextLength = Number(src.meta(`${arch}.context_length`) ?? 2048);
  } finally {
    await src.close();
  }
  const derived = ollamaTemplateFor(info, o.family);
  // A base from the Ollama store keeps its TEMPLATE (when it renders the trained prompt), PARAMS, SYSTEM and LICENSE.
  const store = art.adapterPath && !fullModel ? await storeBaseOf(reportedModelName(art), art.basePath) : undefined;
  const kept = store ? mergeStoreLayers(store, derived, info) : undefined;
  const template = kept?.template ?? derived;
  const metadata = { ...provenance, ...(info.source !== "gguf" ? { "tokenizer.chat_template": { type: "string" as const, value: info.template } } : {}) };
  log.info(`export: ${fullModel ? `re-writing ${rel(fullModel)}` : `merging ${rel(art.adapterPath!)} into ${rel(art.basePath!)}`} as ${o.quant} → ${rel(modelGguf)}`);
  const merged = await mergeToGguf({ basePath: source, adapterPath: fullModel ? undefined : art.adapterPath, outPath: modelGguf, quant: o.quant, extraMetadata: metadata });
  log.debug(`export: ${merged.merged.length} adapted tensors merged`);
  if (o.quant.includes("_k")) {
    // llama.cpp's mixes change type per tensor, with fallbacks where rows do not fit 256-value blocks: say which.
    const counts = new Map<string, number>();
    for (const t of Object.values(merged.tensorTypes)) counts.set(t, (counts.get(t) ?? 0) + 1);
    log.info(`export: ${o.quant} tensor types (llama.cpp's per-tensor choices and fallbacks): ${[...counts].map(([t, n]) => `${n} ${t}`).join(", ")}`);
  }

  if (!template.verified) log.warn(`export: the Ollama TEMPLATE (from ${template.source}) could not be checked against the model's chat template; check the prompt with \`ollama run --verbose\``);
  const numCtx = o.numCtx ?? kept?.numCtx ?? Math.min(contextLength, 4096);

  let adapterGguf: string | undefined;
  if (art.adapterPath && !fullModel) {
    adapterGguf = join(dir, "adapter.gguf");
    await writeLoraAdapter(art.adapterPath, adapterGguf, { arch, extraMetadata: provenance });
  }
  // The PEFT form of the adapter (finetune writes it beside adapter.gguf) goes along for the Python tools.
  const peft = art.adapterPath && !fullModel && [PEFT_ADAPTER_FILE, PEFT_ADAPTER_CONFIG_FILE].every((f) => existsSync(join(dirname(art.adapterPath!), f)));
  if (peft) for (const f of [PEFT_ADAPTER_FILE, PEFT_ADAPTER_CONFIG_FILE]) await copyFile(join(dirname(art.adapterPath!), f), join(dir, f));

  // format writes the train split to training_data_final.jsonl and the valid split beside it (.valid.jsonl);
  // NDJSON example records carry their split themselves.
  const validFile = dataset ? siblingPath(dataset, "valid") : undefined;
  const examples = [
    ...(dataset ? await readExamples(dataset, "train") : []),
    ...(validFile && existsSync(validFile) ? await readExamples(validFile, "valid") : []),
  ];
  const trainItems = examples.filter((e) => e.split !== "valid").flatMap(evalItemsFromExample);
  const validItems = examples.filter((e) => e.split === "valid").flatMap(evalItemsFromExample);

  // SYSTEM: the one asked for, else the one the training data used, else the store base's (qa-train trained with it).
  const system = o.system ?? commonSystem(trainItems) ?? o.trainedSystem ?? kept?.system;
  // LICENSE: the store's license layers, else the base GGUF's general.license (a name like apache-2.0, or a text).
  const license = kept?.license.length ? kept.license : ggufLicense ? [ggufLicense] : [];
  const extras = { ...(kept && Object.keys(kept.parameters).length ? { parameters: kept.parameters } : {}), ...(license.length ? { license } : {}) };
  const comments = [`${o.name}: fine-tuned from ${baseName} by docs2model on ${createdAt}`, ...(datasetSha256 ? [`dataset sha256 ${datasetSha256}`] : [])];
  // A license given as text (not an identifier) also goes to LICENSE, which the card's front matter links to.
  if (license[0] && !/^[a-z0-9][a-z0-9.+-]{0,63}$/i.test(license[0])) await writeFile(join(dir, "LICENSE"), license.join("\n\n") + "\n");
  const modelfile = join(dir, "Modelfile");
  await writeFile(modelfile, renderModelfile({ from: "./model.gguf", template, numCtx, system, ...extras, comments }));
  let modelfileAdapter: string | undefined;
  if (adapterGguf && art.basePath) {
    modelfileAdapter = join(dir, "Modelfile.adapter");
    // A base that came out of the Ollama store is named as Ollama knows it; any other base by its path.
    const ollamaName = reportedModelName(art);
    const fromOllama = ollamaName && /[\\/]blobs[\\/]sha256[-:]/.test(art.basePath) ? ollamaName : undefined;
    await writeFile(modelfileAdapter, renderModelfile({ from: fromOllama ?? resolve(art.basePath), adapter: "./adapter.gguf", template, numCtx, system, ...extras, comments: [...comments, "variant: the base model with the LoRA adapter applied at load time"] }));
  }

  let verify: VerifyReport | undefined;
  if (o.verify !== false) {
    const probes: VerifyProbe[] = trainItems.filter((i) => !i.history).slice(0, 3).map((i) => ({ question: i.question, answer: i.reference, ...(i.system ?? system ? { system: i.system ?? system } : {}) }));
    if (!probes.length) probes.push({ question: "What is this document about?" });
    log.info(`export: verifying ${rel(modelGguf)} in llama.cpp`);
    // An export with quantized weights (asked for, or kept from a quantized base) is measured against its all-f16
    // twin — the weights as trained — and our forward is held to the float gate on that twin.
    const quantized = o.quant !== "f16" && o.quant !== "f32";
    const reference = weightClass(Object.values(merged.tensorTypes)) !== "float" ? join(dir, ".verify-f16.gguf") : undefined;
    try {
      if (reference) await mergeToGguf({ basePath: source, adapterPath: fullModel ? undefined : art.adapterPath, outPath: reference, quant: "f16", dequantize: true, extraMetadata: metadata });
      verify = await verifyExport({
        modelPath: modelGguf, stop: template.stop, probes,
        ...(adapterGguf && art.basePath ? { basePath: art.basePath, adapterPath: adapterGguf } : {}),
        ...(reference ? { referencePath: reference } : {}),
        quantized, backend: o.backend,
      });
    } finally {
      if (reference) await rm(reference, { force: true });
    }
    await writeFile(join(dir, "verify.json"), JSON.stringify(verify, null, 2) + "\n");
    for (const c of verify.checks) {
      const line = `verify: ${c.ok ? "ok" : c.required ? "FAILED" : "warning"} — ${c.name}: ${c.detail}`;
      if (c.ok) log.info(line);
      else if (c.required) log.error(line);
      else log.warn(line);
    }
  }

  let evalReport: EvalReport | undefined;
  if (o.eval !== false) {
    evalReport = await evaluate(o, art, modelGguf, validItems.slice(0, o.evalLimit ?? 20));
    await writeFile(join(dir, "eval.json"), JSON.stringify(evalReport, null, 2) + "\n");
    log.info(evalSummary(evalReport));
  }

  const runCommands = [`cd ${shellQuote(relative(process.cwd(), dir) || ".")}`, `ollama create ${o.name} -f Modelfile`, `ollama run ${o.name}`];
  const ollama = { installed: false, baseUrl: o.ollamaBaseUrl, commands: runCommands };
  if (o.install !== "never") {
    const version = await ollamaReachable(o.ollamaBaseUrl, { fetch: o.fetch });
    if (version) {
      log.info(`export: Ollama ${version} at ${o.ollamaBaseUrl}: creating ${o.name}`);
      await installInOllama({
        baseUrl: o.ollamaBaseUrl, name: o.name, modelPath: modelGguf, template: template.template,
        system: system ?? template.defaultSystem, parameters: createParameters({ template, numCtx, ...extras }), ...(kept?.license.length ? { license: kept.license } : {}), fetch: o.fetch,
        onStatus: (s) => log.info(`ollama: ${s}`),
      });
      ollama.installed = true;
      ollama.commands = [`ollama run ${o.name}`];
    } else {
      log.info(`export: no Ollama server at ${o.ollamaBaseUrl}; to install the model run:\n  ${runCommands.join(" && ")}`);
    }
  }

  // The loss curve goes with the card that shows it.
  for (const pic of art.pictures) await copyFile(pic, join(dir, basename(pic)));
  const card = join(dir, "README.md");
  const files = [
    { file: "model.gguf", what: `merged model, ${o.quant}` },
    ...(adapterGguf ? [{ file: "adapter.gguf", what: "LoRA adapter (llama.cpp `--lora`, Ollama `ADAPTER`)" }] : []),
    ...(peft ? [{ file: `${PEFT_ADAPTER_FILE}, ${PEFT_ADAPTER_CONFIG_FILE}`, what: "the same LoRA adapter for PEFT: `PeftModel.from_pretrained(base, dir)` (transformers, vLLM, unsloth)" }] : []),
    { file: "Modelfile", what: "Ollama: `ollama create NAME -f Modelfile`" },
    ...(modelfileAdapter ? [{ file: "Modelfile.adapter", what: "Ollama: base model + adapter instead of the merged weights" }] : []),
    ...(verify ? [{ file: "verify.json", what: "llama.cpp verification" }] : []),
    ...(evalReport ? [{ file: "eval.json", what: "held-out evaluation, every answer" }] : []),
  ];
  await writeFile(card, modelCard({
    name: o.name, baseModel: baseName, architecture: arch, quant: o.quant, createdAt, chatTemplate: chatSource,
    peft: !!peft, ...(hfBase ? { hfBaseModel: hfBase } : {}), ...(license.length ? { license: license[0]! } : {}), ...(o.datasetId ? { datasetId: o.datasetId } : {}),
    templateSource: `${template.source === "gguf" ? "converted from the model's jinja template (@huggingface/ollama-utils)" : template.source.startsWith("ollama:") ? `the base's own TEMPLATE from the Ollama store (${template.source.slice(7)})` : `the ${template.source} family template`}${template.verified ? `, checked to render the same prompt as the chat template used in training${template.verifiedMultiTurn ? " (one turn and a multi-turn chat)" : " (one turn)"}` : ", not checked against the chat template (check with `ollama run --verbose`)"}`,
    ...(dataset ? { datasetPath: rel(dataset) } : {}), ...(datasetSha256 ? { datasetSha256 } : {}),
    ...(art.report ? { report: art.report } : {}), pictures: art.pictures,
    ...(evalReport ? { eval: evalReport } : {}), ...(verify ? { verify } : {}),
    files, runCommands: ollama.commands,
  }));
  const result: ExportResult = { dir, modelGguf, ...(adapterGguf ? { adapterGguf } : {}), modelfile, ...(modelfileAdapter ? { modelfileAdapter, basePath: resolve(art.basePath!) } : {}), card, template, ...(verify ? { verify } : {}), ...(evalReport ? { eval: evalReport } : {}), ollama };
  const record: ExportRecord = { ...result, verify: verify?.ok, eval: evalReport?.mean };
  await writeFile(join(dir, EXPORT_RESULT_FILE), JSON.stringify(record, null, 2) + "\n");
  return result;
}

async function evaluate(o: ExportOptions, art: FinetuneArtifacts, modelGguf: string, items: EvalItem[]): Promise<EvalReport> {
  const tuned = await openLlamaRunner(modelGguf);
  const base = art.basePath ? await openLlamaRunner(art.basePath) : undefined;
  try {
    const answerWith = (r: typeof tuned): Answerer => async (item) =>
      (await r.generate([...(item.system ?? o.system ? [{ role: "system" as const, content: (item.system ?? o.system)! }] : []), ...(item.history ?? []), { role: "user", content: item.question }], { maxTokens: 128 })).text;
    const answerers: Record<string, Answerer> = base ? { base: answerWith(base), "fine-tuned": answerWith(tuned) } : { "fine-tuned": answerWith(tuned) };
    if (items.length) log.info(`eval: ${items.length} held-out question${items.length === 1 ? "" : "s"}, ${Object.keys(answerers).join(" vs ")}`);
    return await runEval({ items, answerers, ...(o.judge ? { judge: o.judge } : {}) });
  } finally {
    await tuned.dispose();
    await base?.dispose();
  }
}

/** Example records (NDJSON) from the format step; lines in the seed's plain shape count as training data. */
export async function readExamples(path: string, split: "train" | "valid" = "train"): Promise<ExampleRecord[]> {
  const text = await readFile(path, "utf8");
  const out: ExampleRecord[] = [];
  const trimmed = text.trimStart();
  const values: unknown[] = trimmed.startsWith("[") ? JSON.parse(trimmed) : text.split("\n").filter((l) => l.trim()).map((l, i) => {
    try { return JSON.parse(l); } catch { throw new PipelineError("E_BAD_LINE", "not valid JSON", { file: path, line: i + 1 }); }
  });
  values.forEach((v, i) => {
    const rec = v as Record<string, unknown>;
    if (rec?.type === "example") {
      const parsed = ExampleRecord.safeParse(rec);
      if (parsed.success) out.push(parsed.data);
      return;
    }
    const data = exampleData(v);
    if (data) out.push({ type: "example", id: String(rec.id ?? `line_${i + 1}`), qaId: "", docId: "", chunkId: "", source: path, template: templateOf(data), split, data });
  });
  return out;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  await pipeline(createReadStream(path), h);
  return h.digest("hex");
}

function describeBase(a: FinetuneArtifacts): string {
  const model = a.report?.model;
  if (model?.tiny === true || (a.modelPath && !a.adapterPath && !model?.name)) return "tiny (trained from scratch)";
  const named = model?.name ?? a.report?.baseModel;
  if (named) return named;
  return a.basePath ? basename(a.basePath) : "unknown";
}

/** The base model's name as finetune recorded it (an Ollama name, a path, "tiny"). */
function reportedModelName(a: FinetuneArtifacts): string | undefined {
  return a.report?.model?.name;
}

/** The system prompt every training example shares, if they all have the same one. */
function commonSystem(items: EvalItem[]): string | undefined {
  const systems = new Set(items.map((i) => i.system));
  const [only] = systems;
  return systems.size === 1 && only ? only : undefined;
}

const rel = (p: string) => relative(process.cwd(), p) || p;
const shellQuote = (s: string) => (/^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
