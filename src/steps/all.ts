// `pipeline all`'s run: steps 1–7 in one go on the seed's folders — offline by default (extractive Q&A, heuristic
// judge, the `tiny` base trained from scratch), resumable after any step, ending with where everything is.
import type { TrainerTarget } from "../sinks/trainers/targets.ts";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import type { Settings } from "../config.ts";
import { PipelineError } from "../errors.ts";
import { exportFolder, exportNameFor, finetuneNameFor, normalizeModelName, projectFiles } from "../layout.ts";
import { log, summary } from "../log.ts";
import { hashSettings } from "../streams/ledger.ts";
import { requireBatchProvider } from "../providers/batch/vendor.ts";
import { normalizeProviderName } from "../providers/select.ts";
import type { ExportResult } from "../export/export.ts";
import type { FormatOptions } from "../transforms/format.ts";

export const STEPS = ["chunk", "generate-qa", "validate", "format", "qa-train", "finetune", "export"] as const;
export type StepName = (typeof STEPS)[number];

/** Training tokens the offline `tiny` run may spend (see finetuneSettings). */
const TINY_TOKEN_BUDGET = 250_000;
const TINY_BATCH = 4;

export interface StepTiming { step: StepName; seconds: number; maxRssMiB: number; skipped?: boolean }
interface AllState { version: 1; settingsHash: string; done: StepName[]; timings: StepTiming[] }

export interface AllRun {
  /** LLM provider for generate-qa and validate (default: PIPELINE_LLM_PROVIDER when set on purpose, else extractive). */
  provider?: string;
  /** Share of documents held out for evaluation. */
  validFraction: number;
  /** Create the model in Ollama when a server answers. */
  ollama: boolean;
  /** Skip the steps an earlier run finished; the interrupted one resumes. */
  resume: boolean;
  /** A system prompt for every training example (format writes it; export's SYSTEM follows the data). */
  system?: string;
  /** Also write the data and a config for this outside trainer (format --for). */
  for?: TrainerTarget;
}

export async function runAll(settings: Settings, o: AllRun): Promise<{ settings: Settings; timings: StepTiming[] }> {
  // Offline unless a provider is configured on purpose: the run must work with no key, server or network.
  const provider = o.provider ?? (settings.origin.provider === "default" ? "extractive" : settings.provider!);
  const tiny = settings.finetuneModelName === "tiny";
  const qaDir = settings.qaDir;
  const paths = projectFiles(settings);
  const files = { chunks: settings.chunksDir, qa: paths.qa, report: paths.report, final: paths.final, tokens: paths.tokens, finetuned: paths.finetuned(settings.finetuneModelName) };
  const validFraction = o.validFraction;
  const validSplit = String(validFraction);

  const statePath = paths.allState;
  const settingsHash = allSettingsHash(settings, { provider, validSplit, ...(o.system ? { system: o.system } : {}) });
  let state: AllState = { version: 1, settingsHash, done: [], timings: [] };
  if (o.resume && existsSync(statePath)) {
    const old = JSON.parse(await readFile(statePath, "utf8")) as AllState;
    if (old.settingsHash !== settingsHash) {
      throw new PipelineError("E_RESUME", `settings changed since the interrupted \`pipeline all\` (${relative(process.cwd(), statePath)}); run again without --resume to start over, or restore the old settings`);
    }
    state = old;
  }
  // --batch needs a vendor with a batch service: refused now, not after chunking.
  if (settings.batch) requireBatchProvider(normalizeProviderName(provider));
  // A base that does not resolve or cannot be trained must stop the run now, before chunking and any LLM call.
  await checkBase(settings);
  (await import("../chat/template.ts")).checkModelType(settings.finetuneModelType);
  // A bad --name fails now, not after hours of training.
  if (settings.exportModelName) exportFolder(settings.exportOutputDir, normalizeModelName(settings.exportModelName));
  await mkdir(qaDir, { recursive: true });
  const save = async () => { await writeFile(statePath + ".partial", JSON.stringify(state, null, 2) + "\n"); await rename(statePath + ".partial", statePath); };
  await save();

  log.info(`pipeline all: ${settings.inputDir} → ${settings.exportOutputDir}/ (provider ${provider}, base ${settings.finetuneModelName}${o.resume ? ", resuming" : ""})`);
  let exported: ExportResult | undefined;
  for (const [i, step] of STEPS.entries()) {
    const tag = `[${i + 1}/${STEPS.length}] ${step}`;
    if (state.done.includes(step)) {
      log.info(`${tag}: done in an earlier run, skipped`);
      continue;
    }
    const started = performance.now();
    log.info(`${tag}`);
    try {
      await runStep(step);
    } catch (e) {
      // Finished steps are recorded: say how to go on from here rather than from scratch.
      if (e instanceof PipelineError && e.code !== "E_CONFIG" && e.code !== "E_USAGE" && e.code !== "E_RESUME") {
        throw new PipelineError(e.code, `${e.message}\n  ${step} stopped the run; after fixing the cause, continue with \`pipeline all --resume\` (steps ${state.done.join(", ") || "none"} are done)`, {}, { cause: e });
      }
      throw e;
    }
    const timing = { step, seconds: (performance.now() - started) / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
    state.timings = [...state.timings.filter((t) => t.step !== step), timing];
    state.done.push(step);
    await save();
  }

  // Each step's modules load when it runs, so `pipeline all --help` stays instant.
  async function runStep(step: StepName): Promise<void> {
    // A step interrupted in an earlier run continues from its own ledger or checkpoint.
    const resume = !!o.resume;
    // generate-qa and validate ask the provider chosen above (offline unless configured on purpose).
    const llm: Settings = { ...settings, provider };
    switch (step) {
      case "chunk": return (await import("./chunk.ts")).runChunk(settings, { inputs: [settings.inputDir], output: paths.chunks, resume });
      case "generate-qa": return (await import("./generate-qa.ts")).runGenerateQa(llm, { input: paths.chunks, output: files.qa, resume });
      case "validate": return (await import("./validate.ts")).runValidate(llm, { input: files.qa, output: files.report, resume });
      case "format": {
        const options: FormatOptions = { template: settings.formatTemplate, threshold: settings.filterThreshold, keepDuplicates: false, validFraction, system: o.system, reasoningFormat: settings.reasoningFormat };
        const { formatSummary, runFormat } = await import("./format.ts");
        log.info(formatSummary(await runFormat({ input: files.report, output: files.final, toStdout: false, options, skipBadLines: settings.skipBadLines }), options));
        // --for: the same pairs also in an outside trainer's layout, with its config (our training goes on as well).
        if (o.for) {
          const { runFormatFor } = await import("./format-for.ts");
          await runFormatFor(settings, { target: o.for, input: files.report, outDir: join(settings.qaDir, `for-${o.for}`), options: { threshold: options.threshold, keepDuplicates: false, validFraction, system: o.system, reasoningFormat: options.reasoningFormat }, skipBadLines: settings.skipBadLines });
        }
        return;
      }
      case "qa-train": { await (await import("./qa-train.ts")).runQaTrain(settings, { input: resolve(files.final), outDir: resolve(files.tokens) }); return; }
      case "finetune": {
        await (await import("./finetune.ts")).runFinetune(await finetuneSettings(settings, files.tokens, tiny), { tokensDir: resolve(files.tokens), resume: resume && existsSync(join(files.finetuned, "checkpoint")) });
        return;
      }
      case "export": {
        const { exportSummary, runExport } = await import("./export.ts");
        const r = await runExport(settings, { verify: true, eval: true, ollama: o.ollama });
        exported = r;
        log.info(exportSummary(r));
        if (r.verify && !r.verify.ok) {
          throw new PipelineError("E_EXPORT", `verification of ${r.modelGguf} failed (see ${join(r.dir, "verify.json")}); the files are written`);
        }
      }
    }
  }
  const modelName = exportNameFor(settings.exportModelName, finetuneNameFor(settings.finetuneModelName));
  const dir = paths.exported(modelName);
  log.info(
    [
      "",
      "PIPELINE ALL DONE",
      `  chunks           ${paths.chunks}`,
      `  Q&A pairs        ${files.qa}`,
      `  validation       ${files.report}`,
      `  training data    ${files.final} (+ .valid.jsonl)`,
      `  fine-tuned       ${files.finetuned}/ (training_report.json, loss_curve.svg)`,
      `  exported model   ${dir}/ (model.gguf, Modelfile, README.md with eval and verification)`,
      `  timings          ${state.timings.map((t) => `${t.step} ${t.seconds.toFixed(1)}s`).join(", ")}`,
      "",
      ...(exported?.ollama.installed
        ? ["  Created in Ollama; run it:", `    ollama run ${modelName}`]
        : ["  Run it in Ollama:", `    cd ${dir} && ollama create ${modelName} -f Modelfile && ollama run ${modelName}`]),
      "  or in llama.cpp:",
      `    llama-cli -m ${join(dir, "model.gguf")} -cnv`,
      ...(tiny ? ["", "  (The offline `tiny` model only knows your documents' Q&A pairs by heart. For a useful model set", "   --provider/--model and --base (or PIPELINE_LLM_PROVIDER and FINETUNE_MODEL_NAME) to a real provider and base model.)"] : []),
    ].join("\n"),
  );
  summary("all", { timings: state.timings, exported: dir, model: modelName, installedInOllama: !!exported?.ollama.installed });
  return { settings, timings: state.timings };
}

/**
 * Offline `tiny` defaults (unless the user set epochs or batch): the tiny model should learn its small dataset
 * by heart, which takes ~60–80 passes, but the run must stay within minutes on 2 cores — so epochs are sized to
 * a budget of TINY_TOKEN_BUDGET training tokens (≈ 4–5 min at the ~900 tok/s of 2 cores), between 10 and 80.
 */
async function finetuneSettings(settings: Settings, tokensDir: string, tiny: boolean): Promise<Settings> {
  if (!tiny) return settings;
  const out: Settings = { ...settings, origin: { ...settings.origin } };
  if (settings.origin.finetuneBatchSize === "default") { out.finetuneBatchSize = TINY_BATCH; out.origin.finetuneBatchSize = "flag"; }
  if (settings.origin.finetuneEpochs === "default") {
    let rows = 1, seqLen = 256;
    try {
      const report = await (await import("../train/qa-train.ts")).readQaTrainReport(tokensDir);
      rows = Math.max(1, report.train.rows);
      seqLen = report.seqLen;
    } catch { /* no report: the smallest guess */ }
    out.finetuneEpochs = Math.max(10, Math.min(80, Math.floor(TINY_TOKEN_BUDGET / (rows * seqLen))));
    out.origin.finetuneEpochs = "flag";
  }
  return out;
}

/**
 * Resolve the base model once up front and run the preflight (architecture, rope, tensors, types, memory);
 * an error from --base names the flag rather than FINETUNE_MODEL_NAME.
 */
async function checkBase(settings: Settings): Promise<void> {
  const { preflightBase } = await import("../model/preflight.ts");
  try {
    await preflightBase(settings.finetuneModelName, { backend: settings.finetuneBackend });
  } catch (e) {
    if (!(e instanceof PipelineError) || settings.origin.finetuneModelName !== "flag") throw e;
    const message = e.message.replaceAll("FINETUNE_MODEL_NAME", "--base");
    throw new PipelineError(e.code, message.includes("--base") ? message : `--base ${settings.finetuneModelName}: ${message}`, {}, { cause: e });
  }
}

function allSettingsHash(s: Settings, extra: Record<string, unknown>): string {
  // How often batches are polled shapes no output.
  const { env: _env, origin: _origin, configFile: _configFile, batchPollSec: _poll, ...values } = s;
  return hashSettings({ values, extra });
}

