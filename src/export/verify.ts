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
import { openLlamaRunner, type ChatTurn, type Generation, type LlamaRunner } from "../llama-cpp/runner.ts";
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
    if (o.parity !== false && tokens.length) {
      const r = await parityCheck(o, merged, tokens);
      checks.push(r.check);
      if (r.stats) parity = r.stats;
    }
    // Without a twin from the caller (`pipeline verify` on an export directory), base + adapter make one.
    let referencePath = o.referencePath;
    if (!referencePath && o.basePath && o.adapterPath && tokens.length && (await fileWeightClass(o.modelPath)).cls !== "float") {
      referencePath = ownTwin = join(dirname(o.modelPath), ".verify-f16.gguf");
      await mergeToGguf({ basePath: o.basePath, adapterPath: o.adapterPath, outPath: ownTwin, quant: "f16", dequantize: true });
    }
    if (referencePath && tokens.length) {
      const r = await quantKlCheck({ ...o, referencePath }, merged, tokens);
      checks.push(r.check);
      quantization = r.stats;
      if (o.parity !== false) {
        // Quantized dot products in llama.cpp blur small errors; on the float twin our forward must match tightly.
        const twin = await openLlamaRunner(referencePath);
        try {
          const t = await parityCheck({ ...o, modelPath: referencePath }, twin, tokens, "on the f16 merge");
          checks.push(t.check);
          if (t.stats) parityF16 = t.stats;
        } finally {
          await twin.dispose();
        }
      }
    }

    if (o.basePath && o.adapterPath && probes.length) {
      const baseIsFloat = (await fileWeightClass(o.basePath)).cls === "float";
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
          // q8_0 rounding of W + BA can flip a near tie, and so can a quantized base: llama.cpp runs base + adapter
          // through its quantized dot products (activations rounded to 8 bits) while the merge holds dequantized
          // weights. Only an exact export of a float base must match token for token.
          required: !o.quantized && baseIsFloat,
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
  const { tf } = await import("../kernels/backend.ts");
  const out = tf.tidy(() => ours.forward(Int32Array.from(tokens), 1, tokens.length));
  const vocab = out.shape[1];
  const logits = out.dataSync() as Float32Array;
  out.dispose();
  const tally = new ParityTally();
  await runner.nextTokenDistributions(tokens, (i, probs, top) => {
    const ourTop = argmaxRow(logits, i * vocab, vocab);
    tally.add(top, ourTop, klToLogits(probs, logits, i * vocab, vocab), gapOf(probs, top, ourTop));
  });
  return tally.stats();
}

/** The same token sequence through two llama.cpp models: KL(reference ‖ candidate) and top-1 agreement. */
export async function measureLlamaParity(reference: LlamaRunner, candidate: LlamaRunner, tokens: number[]): Promise<ParityStats> {
  const tally = new ParityTally();
  const [a, b] = [reference.distributionStream(), candidate.distributionStream()];
  try {
    // Both sequences advance together, 32 positions at a time: one piece of full distributions per model in memory.
    for (let start = 0; start < tokens.length; start += 32) {
      const piece = tokens.slice(start, start + 32);
      const [ra, rb] = [await a.feed(piece), await b.feed(piece)];
      ra.forEach((r, i) => tally.add(r.top, rb[i]!.top, klBetween(r.probs, rb[i]!.probs), gapOf(r.probs, r.top, rb[i]!.top)));
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return tally.stats();
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

async function parityCheck(o: VerifyOptions, runner: LlamaRunner, tokens: number[], on = ""): Promise<{ check: VerifyCheck; stats?: ParityStats }> {
  const name = `llama.cpp next token and distribution = our tfjs model's${on ? ` ${on}` : ""}`;
  const { cls, params, error } = await fileWeightClass(o.modelPath);
  if (params === undefined) return { check: { name, ok: true, required: false, detail: `skipped: ${error}` } };
  if (params > PARITY_MAX_PARAMS) {
    return { check: { name, ok: true, required: false, detail: `skipped: ${(params / 1e6).toFixed(0)}M parameters is too many to run twice here` } };
  }
  // tfjs is slow to import: only this check needs it.
  const { useBackend } = await import("../kernels/backend.ts");
  const { loadGgufModel } = await import("../model/load.ts");
  const backend = await useBackend(o.backend);
  const loaded = await loadGgufModel(o.modelPath);
  try {
    const stats = await measureParity(runner, loaded.model, tokens);
    log.debug(`parity on ${backend.name}: ${describeParity(stats)}`);
    const { ok, detail } = gateParity(stats, cls);
    return { check: { name, ok, required: true, detail }, stats };
  } finally {
    loaded.model.dispose();
  }
}

async function quantKlCheck(o: VerifyOptions & { referencePath: string }, merged: LlamaRunner, tokens: number[]): Promise<{ check: VerifyCheck; stats: ParityStats }> {
  const { cls } = await fileWeightClass(o.modelPath);
  const reference = await openLlamaRunner(o.referencePath);
  try {
    const stats = await measureLlamaParity(reference, merged, tokens);
    const warnAt = QUANT_KL_WARN[cls];
    return {
      check: { name: "quantized model vs the f16 merge (llama.cpp)", ok: stats.meanKl <= warnAt, required: false, detail: `${describeParity(stats)}; expected ≤ ${warnAt} for ${cls} weights` },
      stats,
    };
  } finally {
    await reference.dispose();
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
