// Proof that an exported model works: llama.cpp loads it, greedy generation ends on one of the Modelfile's stops,
// llama.cpp's next-token choice equals our tfjs model's, and the merged model answers like base + adapter.
import { readFile } from "node:fs/promises";
import { log } from "../log.ts";
import { configFromGguf, parameterCount } from "../model/config.ts";
import { openGguf } from "../gguf/reader.ts";
import { openLlamaRunner, type ChatTurn, type Generation, type LlamaRunner } from "../llama-cpp/runner.ts";

export interface VerifyCheck { name: string; ok: boolean; detail: string; /** A failed required check fails verify. */ required: boolean }
export interface VerifySample { question: string; expected?: string; answer: string; stoppedBy: Generation["stoppedBy"]; stopText?: string }
export interface VerifyReport { ok: boolean; checks: VerifyCheck[]; samples: VerifySample[] }

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
}

/** The `PARAMETER stop "…"` values of a Modelfile. */
export async function modelfileStops(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  return [...text.matchAll(/^PARAMETER\s+stop\s+"(.*)"\s*$/gm)].map((m) => m[1]!);
}

const PARITY_MAX_PARAMS = 400e6;
const PARITY_MIN_AGREEMENT = 0.95;

export async function verifyExport(o: VerifyOptions): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [];
  const samples: VerifySample[] = [];
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

    if (o.parity !== false && probes.length) {
      checks.push(await parityCheck(o, merged, probes, messagesOf));
    }

    if (o.basePath && o.adapterPath && probes.length) {
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
          // q8_0 rounding of W + BA can flip a near tie; only exact exports must match token for token.
          required: !o.quantized,
          detail: same === probes.length ? `${same}/${probes.length} greedy answers identical` : `${same}/${probes.length} identical; ${diffs.join("; ")}`,
        });
      } finally {
        await withAdapter.dispose();
      }
    }
  } finally {
    await merged.dispose();
  }
  return { ok: checks.every((c) => c.ok || !c.required), checks, samples };
}

async function parityCheck(o: VerifyOptions, runner: LlamaRunner, probes: VerifyProbe[], messagesOf: (p: VerifyProbe) => ChatTurn[]): Promise<VerifyCheck> {
  const name = "llama.cpp next token = our tfjs model's";
  const p = probes[0]!;
  // Teacher-forced over the prompt and the reference answer: every position is compared.
  let tokens = runner.promptTokens(messagesOf(p));
  if (p.answer) tokens = [...tokens, ...([...runner.model.tokenize(p.answer, false)] as number[])];
  tokens = tokens.slice(0, 256);
  const file = await openGguf(o.modelPath);
  let params: number;
  try {
    params = parameterCount(configFromGguf(Object.fromEntries([...file.metadata.keys()].map((k) => [k, file.meta(k)])), file.tensors.map((t) => t.name), o.modelPath));
  } catch (e) {
    return { name, ok: true, required: false, detail: `skipped: ${(e as Error).message}` };
  } finally {
    await file.close();
  }
  if (params > PARITY_MAX_PARAMS) {
    return { name, ok: true, required: false, detail: `skipped: ${(params / 1e6).toFixed(0)}M parameters is too many to run twice here` };
  }
  // tfjs is slow to import: only this check needs it.
  const { useBackend, tf } = await import("../kernels/backend.ts");
  const { loadGgufModel } = await import("../model/load.ts");
  const backend = await useBackend(o.backend);
  const loaded = await loadGgufModel(o.modelPath);
  try {
    const ref = await runner.nextTokens(tokens);
    const ours = tf.tidy(() => Array.from(tf.argMax(loaded.model.forward(Int32Array.from(tokens), 1, tokens.length), 1).dataSync()));
    const agree = ours.filter((t, i) => t === ref[i]).length;
    const frac = agree / tokens.length;
    log.debug(`parity on ${backend.name}: ${agree}/${tokens.length}`);
    return { name, ok: frac >= PARITY_MIN_AGREEMENT, required: true, detail: `${agree}/${tokens.length} positions agree (${(frac * 100).toFixed(1)}%, need ≥ ${PARITY_MIN_AGREEMENT * 100}%)` };
  } finally {
    loaded.model.dispose();
  }
}

export function verifyMarkdown(r: VerifyReport): string {
  const lines = ["| check | result | detail |", "|---|---|---|"];
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
