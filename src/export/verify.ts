// Proof that an exported model works: llama.cpp loads it, greedy generation ends on one of the Modelfile's stops,
// llama.cpp's next-token distribution matches our tfjs model's (top-1 and KL), a quantized export stays close to
// the f16 merge, and the merged model answers like base + adapter.
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { mergeToGguf } from "./merge.ts";
import type { LlamaModel } from "../model/llama.ts";
import { log } from "../log.ts";
import { configFromGguf, parameterCount } from "../model/config.ts";
import { openGguf } from "../gguf/reader.ts";
import { openLlamaRunner, type ChatTurn, type Generation, type LlamaRunner, type NextTokenDistribution } from "../llama-cpp/runner.ts";
import { argmaxRow, describeParity, gapOf, klBetween, klToLogits, gateParity, ParityTally, QUANT_KL_WARN, weightClass, type ParityStats, type WeightClass } from "./parity.ts";

export interface VerifyCheck { name: string; ok: boolean; detail: string; /** A failed required check fails verify. */ required: boolean }
export interface VerifySample { question: string; expected?: string; answer: string; stoppedBy: Generation["stoppedBy"]; stopText?: string }
export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  samples: VerifySample[];
  /** Our tfjs forward against llama.cpp on the exported file. */
  parity?: ParityStats;
  /** The exported (quantized) file against the f16 merge, both in llama.cpp. */
  quantization?: ParityStats;
  /** Our tfjs forward against llama.cpp on the f16 merge (when the export is quantized). */
  parityF16?: ParityStats;
}

export interface VerifyProbe { question: string; answer?: string; system?: string }

export interface VerifyOptions {
  modelPath: string;
  /** Stop strings as the Modelfile lists them (see modelfileStops). */
  stop: string[];
  probes: VerifyProbe[];
  /** Base model and adapter: the merged model must answer as base + adapter does in llama.cpp. */
  basePath?: string;
  adapterPath?: string;
  /** Merged weights were rounded (q8_0), so base + adapter may drift from them after a few tokens. */
  quantized?: boolean;
  /** Compare llama.cpp's next tokens with our tfjs forward (skipped for models too big to load twice). */
  parity?: boolean;
  maxTokens?: number;
  /** tfjs backend for the parity check (default: the fastest available). */
  backend?: string;
  /** The all-f16 merge of the same model: the quantized export's mean KL divergence against it is reported, and
   * our forward is compared with llama.cpp on it under the float gate. */
  referencePath?: string;
}

/** The `PARAMETER stop "…"` values of a Modelfile. */
export async function modelfileStops(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  return [...text.matchAll(/^PARAMETER\s+stop\s+"(.*)"\s*$/gm)].map((m) => m[1]!);
}

const PARITY_MAX_PARAMS = 400e6;

export async function verifyExport(o: VerifyOptions): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [];
  const samples: VerifySample[] = [];
  let parity: ParityStats | undefined;
  let quantization: ParityStats | undefined;
  let parityF16: ParityStats | undefined;
  let ownTwin: string | undefined;
  const probes = o.probes.slice(0, 3);
  const maxTokens = o.maxTokens ?? 96;
  let merged: LlamaRunner;
  try {
    merged = await openLlamaRunner(o.modelPath);
  } catch (e) {
    return { ok: false, checks: [{ name: "loads in llama.cpp", ok: false, required: true, detail: (e as Error).message }], samples };
  }
  try {
    const info = merged.model.fileInfo.metadata.general;
    checks.push({ name: "loads in llama.cpp", ok: true, required: true, detail: `${info?.architecture ?? "?"}, ${merged.model.trainContextSize} ctx, ${(merged.model.size / 2 ** 20).toFixed(1)} MiB` });

    const messagesOf = (p: VerifyProbe): ChatTurn[] => [...(p.system ? [{ role: "system" as const, content: p.system }] : []), { role: "user", content: p.question }];
    const gens: Generation[] = [];
    for (const p of probes) {
      const g = await merged.generate(messagesOf(p), { maxTokens, stop: o.stop });
      gens.push(g);
      samples.push({ question: p.question, ...(p.answer !== undefined ? { expected: p.answer } : {}), answer: g.text, stoppedBy: g.stoppedBy, ...(g.stopText !== undefined ? { stopText: g.stopText } : {}) });
    }
    if (probes.length) {
      // Ollama stops on the model's end-of-generation tokens and on the Modelfile's stop strings; both must be
      // what ended generation here, and an EOG token must be one the Modelfile lists, so Ollama agrees.
      const bad = gens.filter((g) => g.stoppedBy === "length" || (g.stoppedBy === "eog" && !o.stop.includes(g.stopText ?? "")));
      checks.push({
        name: "generation stops on a Modelfile stop",
        ok: bad.length === 0,
        required: true,
        detail: bad.length === 0
          ? `${gens.length}/${gens.length} answers ended on ${[...new Set(gens.map((g) => JSON.stringify(g.stopText)))].join(", ")}`
          : `${bad.length}/${gens.length} answers did not: ${bad.map((g) => (g.stoppedBy === "length" ? `ran to ${maxTokens} tokens` : `ended on ${JSON.stringify(g.stopText)}, not in the Modelfile's stops ${JSON.stringify(o.stop)}`)).join("; ")}`,
      });
    }

    const tokens = probes.length ? parityTokens(merged, probes, messagesOf, Math.min(PARITY_POSITIONS, merged.model.trainContextSize)) : [];
    // Without a twin from the caller (`pipeline verify` on an export directory), base + adapter make one.
    let referencePath = o.referencePath;
    if (!referencePath && o.basePath && o.adapterPath && tokens.length && (await fileWeightClass(o.modelPath)).cls !== "float") {
      referencePath = ownTwin = join(dirname(o.modelPath), ".verify-f16.gguf");
      await mergeToGguf({ basePath: o.basePath, adapterPath: o.adapterPath, outPath: ownTwin, quant: "f16", dequantize: true });
    }
    if (tokens.length) {
      const r = await comparisons(o, merged, tokens, referencePath);
      checks.push(...r.checks);
      ({ parity, quantization, parityF16 } = r);
    }
    if (o.basePath && o.adapterPath && probes.length) {
      const exactMerge = !o.quantized && (await fileWeightClass(o.basePath)).cls === "float" && (await matrixTypes(o.modelPath)).every((t) => t === "F32");
      const withAdapter = await openLlamaRunner(o.basePath, { lora: o.adapterPath });
      try {
        let same = 0;
        const diffs: string[] = [];
        for (const [i, p] of probes.entries()) {
          const g = await withAdapter.generate(messagesOf(p), { maxTokens, stop: o.stop });
          if (g.tokens.join() === gens[i]!.tokens.join()) same++;
          else diffs.push(`${JSON.stringify(p.question)}: merged ${JSON.stringify(gens[i]!.text.slice(0, 60))} vs base+adapter ${JSON.stringify(g.text.slice(0, 60))}`);
        }
        checks.push({
          name: "merged model = base + adapter (greedy)",
          ok: same === probes.length,
          // Rounding W + BA to the export's type (q8_0, and f16 too) can flip a near tie, and so can a quantized
          // base: llama.cpp runs base + adapter through its quantized dot products (activations rounded to 8 bits)
          // while the merge holds dequantized weights. Only an f32 merge of a float base must match token for token.
          required: exactMerge,
          detail: same === probes.length ? `${same}/${probes.length} greedy answers identical` : `${same}/${probes.length} identical; ${diffs.join("; ")}`,
        });
      } finally {
        await withAdapter.dispose();
      }
    }
  } finally {
    await merged.dispose();
    if (ownTwin) await rm(ownTwin, { force: true });
  }
  return { ok: checks.every((c) => c.ok || !c.required), checks, samples, ...(parity ? { parity } : {}), ...(quantization ? { quantization } : {}), ...(parityF16 ? { parityF16 } : {}) };
}

/** Positions the parity checks compare (≥ 200: fewer lets a wrong rope hide behind a few lucky agreements). */
export const PARITY_POSITIONS = 256;

/**
 * One teacher-forced token sequence from the probes: each conversation's prompt and reference answer in turn,
 * repeated until it fills `length` positions (repeats sit at later positions, where rope errors show most).
 */
export function parityTokens(runner: LlamaRunner, probes: VerifyProbe[], messagesOf: (p: VerifyProbe) => ChatTurn[], length: number): number[] {
  const pieces = probes.map((p) => [...runner.promptTokens(messagesOf(p)), ...(p.answer ? ([...runner.model.tokenize(p.answer, false)] as number[]) : [])]);
  const out: number[] = [];
  while (out.length < length && pieces.some((x) => x.length)) for (const x of pieces) out.push(...x);
  return out.slice(0, length);
}

/** Our forward's logits for `tokens` against llama.cpp's distributions at every position. */
export async function measureParity(runner: LlamaRunner, ours: Pick<LlamaModel, "forward">, tokens: number[]): Promise<ParityStats> {
  const { logits, vocab } = await forwardLogits(ours, tokens);
  const tally = new ParityTally();
  await walkDistributions([runner], tokens, (i, [d]) => addVsOurs(tally, d!, logits, vocab, i));
  return tally.stats();
}

/** The same token sequence through two llama.cpp models: KL(reference ‖ candidate) and top-1 agreement. */
export async function measureLlamaParity(reference: LlamaRunner, candidate: LlamaRunner, tokens: number[]): Promise<ParityStats> {
  const tally = new ParityTally();
  await walkDistributions([reference, candidate], tokens, (_, [r, c]) => tally.add(r!.top, c!.top, klBetween(r!.probs, c!.probs), gapOf(r!.probs, r!.top, c!.top)));
  return tally.stats();
}

async function matrixTypes(path: string): Promise<string[]> {
  const file = await openGguf(path);
  try {
    return file.tensors.filter((t) => t.dims.length >= 2).map((t) => t.type);
  } finally {
    await file.close();
  }
}

async function fileWeightClass(path: string): Promise<{ cls: WeightClass; params?: number; error?: string }> {
  const file = await openGguf(path);
  try {
    const cls = weightClass(file.tensors.filter((t) => t.dims.length >= 2).map((t) => t.type));
    try {
      const params = parameterCount(configFromGguf(Object.fromEntries([...file.metadata.keys()].map((k) => [k, file.meta(k)])), file.tensors.map((t) => t.name), path));
      return { cls, params };
    } catch (e) {
      return { cls, error: (e as Error).message };
    }
  } finally {
    await file.close();
  }
}

/** Our forward's logits on `path` for the parity check, or why the check is skipped. */
type OurSide = { name: string; skip: VerifyCheck } | { name: string; cls: WeightClass; logits: Float32Array; vocab: number; backend: string };

async function ourSide(o: VerifyOptions, path: string, tokens: number[], on = ""): Promise<OurSide> {
  const name = `llama.cpp next token and distribution = our tfjs model's${on ? ` ${on}` : ""}`;
  const { cls, params, error } = await fileWeightClass(path);
  if (params === undefined) return { name, skip: { name, ok: true, required: false, detail: `skipped: ${error}` } };
  if (params > PARITY_MAX_PARAMS) {
    return { name, skip: { name, ok: true, required: false, detail: `skipped: ${(params / 1e6).toFixed(0)}M parameters is too many to run twice here` } };
  }
  // tfjs is slow to import: only this check needs it.
  const { useBackend } = await import("../kernels/backend.ts");
  const { loadGgufModel } = await import("../model/load.ts");
  const backend = await useBackend(o.backend);
  const loaded = await loadGgufModel(path);
  try {
    return { name, cls, ...(await forwardLogits(loaded.model, tokens)), backend: backend.name };
  } finally {
    loaded.model.dispose();
  }
}

async function forwardLogits(ours: Pick<LlamaModel, "forward">, tokens: number[]): Promise<{ logits: Float32Array; vocab: number }> {
  const { tf } = await import("../kernels/backend.ts");
  const out = tf.tidy(() => ours.forward(Int32Array.from(tokens), 1, tokens.length));
  const vocab = out.shape[1];
  const logits = out.dataSync() as Float32Array;
  out.dispose();
  return { logits, vocab };
}

/**
 * Every comparison on one walk of the token sequence: our forward against llama.cpp on the export and, with a twin,
 * the export against the twin and our forward against llama.cpp on the twin. Each model's distributions are made
 * once (at a 150k vocabulary they are most of verify's time), our forward runs once per file, and only one model's
 * weights are in tfjs at a time (its logits are kept: 256 positions × the vocabulary × 4 bytes each).
 */
async function comparisons(o: VerifyOptions, merged: LlamaRunner, tokens: number[], referencePath: string | undefined): Promise<{ checks: VerifyCheck[]; parity?: ParityStats; quantization?: ParityStats; parityF16?: ParityStats }> {
  const oursMerged = o.parity !== false ? await ourSide(o, o.modelPath, tokens) : undefined;
  // Quantized dot products in llama.cpp blur small errors; on the float twin our forward must match tightly.
  const oursTwin = referencePath && o.parity !== false ? await ourSide(o, referencePath, tokens, "on the f16 merge") : undefined;
  const twin = referencePath ? await openLlamaRunner(referencePath) : undefined;
  const [tMerged, tQuant, tTwin] = [new ParityTally(), new ParityTally(), new ParityTally()];
  try {
    const vsOurs = (side: OurSide | undefined) => (side && "logits" in side ? side : undefined);
    const [om, ot] = [vsOurs(oursMerged), vsOurs(oursTwin)];
    if (om || twin) {
      await walkDistributions(twin ? [merged, twin] : [merged], tokens, (i, [m, t]) => {
        if (om) addVsOurs(tMerged, m!, om.logits, om.vocab, i);
        if (t) {
          tQuant.add(t.top, m!.top, klBetween(t.probs, m!.probs), gapOf(t.probs, t.top, m!.top));
          if (ot) addVsOurs(tTwin, t, ot.logits, ot.vocab, i);
        }
      });
    }
  } finally {
    await twin?.dispose();
  }
  const out: { checks: VerifyCheck[]; parity?: ParityStats; quantization?: ParityStats; parityF16?: ParityStats } = { checks: [] };
  const gate = (side: OurSide, tally: ParityTally): { check: VerifyCheck; stats?: ParityStats } => {
    if ("skip" in side) return { check: side.skip };
    const stats = tally.stats();
    log.debug(`parity on ${side.backend}: ${describeParity(stats)}`);
    const { ok, detail } = gateParity(stats, side.cls);
    return { check: { name: side.name, ok, required: true, detail }, stats };
  };
  if (oursMerged) {
    const r = gate(oursMerged, tMerged);
    out.checks.push(r.check);
    if (r.stats) out.parity = r.stats;
  }
  if (twin) {
    const { cls } = await fileWeightClass(o.modelPath);
    const stats = tQuant.stats();
    const warnAt = QUANT_KL_WARN[cls];
    out.checks.push({ name: "quantized model vs the f16 merge (llama.cpp)", ok: stats.meanKl <= warnAt, required: false, detail: `${describeParity(stats)}; expected ≤ ${warnAt} for ${cls} weights` });
    out.quantization = stats;
  }
  if (oursTwin) {
    const r = gate(oursTwin, tTwin);
    out.checks.push(r.check);
    if (r.stats) out.parityF16 = r.stats;
  }
  return out;
}

function addVsOurs(tally: ParityTally, d: NextTokenDistribution, logits: Float32Array, vocab: number, i: number): void {
  const ourTop = argmaxRow(logits, i * vocab, vocab);
  tally.add(d.top, ourTop, klToLogits(d.probs, logits, i * vocab, vocab), gapOf(d.probs, d.top, ourTop));
}

/**
 * llama.cpp's distributions after each prefix of `tokens` from every runner, the runners advancing together 32
 * positions at a time (one piece of full distributions per model in memory), handed to `visit` position by position.
 */
async function walkDistributions(runners: LlamaRunner[], tokens: number[], visit: (position: number, ds: NextTokenDistribution[]) => void): Promise<void> {
  const streams = runners.map((r) => r.distributionStream());
  try {
    for (let start = 0; start < tokens.length; start += 32) {
      const piece = tokens.slice(start, start + 32);
      const got: NextTokenDistribution[][] = [];
      for (const s of streams) got.push(await s.feed(piece));
      piece.forEach((_, i) => visit(start + i, got.map((g) => g[i]!)));
    }
  } finally {
    for (const s of streams) s.dispose();
  }
}

export function verifyMarkdown(r: VerifyReport): string {
  const lines: string[] = [];
  if (r.parity) lines.push(`- Training forward (tfjs) vs llama.cpp: top-1 agreement **${(r.parity.top1 * 100).toFixed(1)}%**, mean KL divergence **${r.parity.meanKl.toExponential(2)}** nats over ${r.parity.positions} positions.`);
  if (r.parityF16) lines.push(`- The same on the f16 merge: top-1 agreement **${(r.parityF16.top1 * 100).toFixed(1)}%**, mean KL divergence **${r.parityF16.meanKl.toExponential(2)}** nats.`);
  if (r.quantization) lines.push(`- Exported model vs the f16 merge, both in llama.cpp: top-1 agreement **${(r.quantization.top1 * 100).toFixed(1)}%**, mean KL divergence **${r.quantization.meanKl.toExponential(2)}** nats over ${r.quantization.positions} positions.`);
  if (lines.length) lines.push("");
  lines.push("| check | result | detail |", "|---|---|---|");
  for (const c of r.checks) lines.push(`| ${c.name} | ${c.ok ? "pass" : c.required ? "**FAIL**" : "warn"} | ${c.detail.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`);
  if (r.samples.length) {
    lines.push("", "| question | expected | llama.cpp answer | ended by |", "|---|---|---|---|");
    for (const s of r.samples) lines.push(`| ${esc(s.question)} | ${esc(s.expected ?? "")} | ${esc(s.answer)} | ${s.stoppedBy}${s.stopText ? ` ${esc(JSON.stringify(s.stopText))}` : ""} |`);
  }
  return lines.join("\n") + "\n";
}

const esc = (s: string) => {
  const one = s.replace(/\s+/g, " ").trim().replace(/\|/g, "\\|");
  return one.length > 100 ? `${one.slice(0, 99)}…` : one;
};
