// A GGUF (optionally with a LoRA adapter) running in llama.cpp through node-llama-cpp, as verify and eval use it:
// chat prompts rendered with the model's own template, greedy generation that reports why it stopped,
// and llama.cpp's next-token choice at every position of a token sequence.
import { Template } from "@huggingface/jinja";
import type { LlamaContext, LlamaModel } from "node-llama-cpp";
import { PipelineError } from "../errors.ts";
import { getLlamaCpp, llamaThreads } from "./runtime.ts";

export interface ChatTurn { role: "system" | "user" | "assistant"; content: string }

export interface Generation {
  tokens: number[];
  /** The answer text, control tokens removed, cut at the first stop string. */
  text: string;
  /** eog: an end-of-generation token; stop: a stop string appeared; length: hit maxTokens. */
  stoppedBy: "eog" | "stop" | "length";
  /** Text of the token or stop string that ended generation. */
  stopText?: string;
}

export interface LlamaRunner {
  model: LlamaModel;
  chatTemplate?: string;
  /** Prompt tokens for a conversation, with BOS when the model wants it, exactly as llama.cpp tokenizes. */
  promptTokens(messages: ChatTurn[]): number[];
  generate(messages: ChatTurn[], o?: { maxTokens?: number; stop?: string[] }): Promise<Generation>;
  /** llama.cpp's greedy next token after each prefix tokens[0..i]. */
  nextTokens(tokens: number[]): Promise<number[]>;
  /**
   * llama.cpp's full next-token distribution after each prefix tokens[0..i] (softmax of its logits, every
   * vocabulary entry), handed to `visit` position by position so a 150k-token vocabulary is never held
   * for all positions at once.
   */
  nextTokenDistributions(tokens: number[], visit: (position: number, probs: Float32Array, top: number) => void): Promise<void>;
  /** The same, fed piece by piece on one sequence (two models can then walk one token sequence in step). */
  distributionStream(o?: DistributionOptions): DistributionStream;
  /** Whether distributions skip node-llama-cpp's token → probability Map (see tapProbabilities). */
  readonly fastDistributions: boolean;
  dispose(): Promise<void>;
}

export interface DistributionOptions {
  /** Through node-llama-cpp's public result only (a Map per position): the reference the fast path is tested against. */
  publicApi?: boolean;
}

/** `probs[t]`: llama.cpp's probability of token t (float32, as llama.cpp computes it), for every vocabulary entry. */
export interface NextTokenDistribution { probs: Float32Array; top: number }

export interface DistributionStream {
  /** Appends `tokens` to the sequence; the distribution after each of them. */
  feed(tokens: number[]): Promise<NextTokenDistribution[]>;
  dispose(): void;
}

export interface OpenRunnerOptions { lora?: string; contextSize?: number; chatTemplate?: string }

export async function openLlamaRunner(modelPath: string, o: OpenRunnerOptions = {}): Promise<LlamaRunner> {
  const llama = await getLlamaCpp();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath });
  } catch (e) {
    throw new PipelineError("E_MODEL", `llama.cpp could not load the model: ${(e as Error).message}`, { file: modelPath }, { cause: e });
  }
  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize: Math.min(o.contextSize ?? 1024, model.trainContextSize),
      // Small models: one thread. ggml threads spin at barriers, and on a busy machine a descheduled peer
      // costs a time slice per op — far more than a tiny matmul gains from a second core.
      threads: model.size < 64 * 2 ** 20 ? 1 : llamaThreads(),
      // f32 KV cache: the comparison with our f32 tfjs forward should not hinge on f16 rounding.
      experimentalKvCacheKeyType: "F32",
      experimentalKvCacheValueType: "F32",
      ...(o.lora ? { lora: { adapters: [{ filePath: o.lora }] } } : {}),
    });
  } catch (e) {
    await model.dispose();
    const what = o.lora ? `the LoRA adapter ${o.lora}` : "a context";
    throw new PipelineError("E_MODEL", `llama.cpp could not create ${what}: ${(e as Error).message}`, { file: modelPath }, { cause: e });
  }
  const chatTemplate = o.chatTemplate ?? (model.fileInfo.metadata as any)?.tokenizer?.chat_template as string | undefined;
  const bosText = model.tokens.bosString ?? "";
  const eosText = model.tokens.eosString ?? "";
  const compiled = chatTemplate ? new Template(chatTemplate) : undefined;

  const promptTokens = (messages: ChatTurn[]): number[] => {
    if (!compiled) throw new PipelineError("E_MODEL", "the model has no tokenizer.chat_template; cannot build a chat prompt", { file: modelPath });
    let text = compiled.render({ messages, add_generation_prompt: true, bos_token: bosText, eos_token: eosText });
    // Templates that write the BOS text themselves must not get a second one from the tokenizer.
    const wroteBos = !!bosText && text.startsWith(bosText);
    if (wroteBos) text = text.slice(bosText.length);
    const ids = [...model.tokenize(text, true)] as number[];
    const bos = model.tokens.bos;
    return (wroteBos || model.tokens.shouldPrependBosToken) && bos !== null ? [bos as number, ...ids] : ids;
  };

  const tap = tapProbabilities(context);
  const distributionStream = (d: DistributionOptions = {}): DistributionStream => {
    const seq = context.getSequence();
    let fed = 0;
    return {
      async feed(tokens) {
        // One capture at a time per context: a stream fed while another's capture runs takes the public path.
        const fast = !!tap && !d.publicApi && !tap.sink;
        // Greedy sampling leaves every candidate in place, so the probabilities are the softmax of the raw logits.
        const items = tokens.map((t) => [t, { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } }] as const);
        const dense: Float32Array[] = [];
        if (fast) tap!.sink = (flat) => dense.push(denseOf(flat)) - 1;
        let res;
        try {
          res = await seq.controlledEvaluate(items as never);
        } finally {
          if (fast) tap!.sink = undefined;
        }
        const out = res.map((r, i) => {
          const probs = r?.next?.probabilities as Map<number, number> | undefined;
          if (!probs) throw new PipelineError("E_MODEL", `llama.cpp returned no probabilities at position ${fed + i}`, { file: modelPath });
          if (!fast) return { probs: denseOf([...probs].flat()), top: Number(r!.next.token) };
          // The tap's stand-in: a one-entry Map whose key is the slot of this position's distribution.
          const p = probs.size === 1 ? dense[probs.keys().next().value!] : undefined;
          if (!p) throw new PipelineError("E_MODEL", `llama.cpp's distribution at position ${fed + i} was not captured (node-llama-cpp internals changed?)`, { file: modelPath });
          return { probs: p, top: Number(r!.next.token) };
        });
        fed += tokens.length;
        return out;
      },
      dispose: () => seq.dispose(),
    };
  };

  return {
    model,
    chatTemplate,
    promptTokens,
    async generate(messages, g = {}) {
      const maxTokens = g.maxTokens ?? 64;
      const stops = (g.stop ?? []).filter(Boolean);
      const seq = context.getSequence();
      const out: number[] = [];
      let stoppedBy: Generation["stoppedBy"] = "length";
      let stopText: string | undefined;
      try {
        for await (const token of seq.evaluate(promptTokens(messages) as never, { temperature: 0, yieldEogToken: true })) {
          if (model.isEogToken(token)) { stoppedBy = "eog"; stopText = model.detokenize([token], true); break; }
          out.push(token as number);
          const sofar = model.detokenize(out as never, true);
          const hit = stops.find((s) => sofar.includes(s));
          if (hit) { stoppedBy = "stop"; stopText = hit; break; }
          if (out.length >= maxTokens) break;
        }
      } finally {
        seq.dispose();
      }
      let text = model.detokenize(out as never, false);
      if (stoppedBy === "stop" && stopText) {
        const raw = model.detokenize(out as never, true);
        text = raw.slice(0, raw.indexOf(stopText));
      }
      return { tokens: out, text: text.trim(), stoppedBy, ...(stopText !== undefined ? { stopText } : {}) };
    },
    async nextTokens(tokens) {
      const seq = context.getSequence();
      try {
        const items = tokens.map((t) => [t, { generateNext: { token: true, options: { temperature: 0 } } }] as const);
        const res = await seq.controlledEvaluate(items as never);
        return res.map((r) => Number(r?.next?.token));
      } finally {
        seq.dispose();
      }
    },
    distributionStream,
    fastDistributions: !!tap,
    async nextTokenDistributions(tokens, visit) {
      const stream = distributionStream();
      try {
        // Pieces of 32 positions: a 150k-entry distribution per position is never held for all of them at once.
        for (let start = 0; start < tokens.length; start += 32) {
          (await stream.feed(tokens.slice(start, start + 32))).forEach((d, i) => visit(start + i, d.probs, d.top));
        }
      } finally {
        stream.dispose();
      }
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** llama.cpp's flat [token, probability, token, probability, …] list, as a Float32Array indexed by token. */
function denseOf(flat: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < flat.length; i += 2) if (flat[i]! >= n) n = flat[i]! + 1;
  const out = new Float32Array(n);
  // The probabilities are float32 in llama.cpp: storing them as float32 loses nothing.
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

interface ProbabilityTap { sink?: (flat: ArrayLike<number>) => number }

/**
 * node-llama-cpp 3.21.1 hands a position's probabilities to JS as a flat [token, p, …] array and then turns it into
 * a Map of every vocabulary entry (LlamaContext.js, reviveTokenProbabilities): at a 150k vocabulary that Map, and
 * iterating it, cost ~0.1 s a position — most of verify's time. Its public API has no raw logits. So this wraps the
 * context's native sampleToken (the one call controlledEvaluate makes per position, `_ctx.sampleToken`): while a sink
 * is set it takes the flat array itself and returns a one-entry list [slot, 1] in its place, so the Map node-llama-cpp
 * builds is one entry naming where the distribution went. Undefined (and the public path used) if the internals differ.
 */
function tapProbabilities(context: LlamaContext): ProbabilityTap | undefined {
  const addon = (context as unknown as { _ctx?: { sampleToken?: (...a: unknown[]) => Promise<unknown> } })._ctx;
  const original = addon?.sampleToken;
  if (!addon || typeof original !== "function") return undefined;
  const tap: ProbabilityTap = {};
  const wrapped = async (...args: unknown[]) => {
    const res = await original.apply(addon, args);
    const sink = tap.sink;
    if (!sink || args[2] !== true || !Array.isArray(res) || !Array.isArray(res[1])) return res;
    return [res[0], [sink(res[1] as number[]), 1], res[2]];
  };
  try {
    // The addon's methods are read-only on its prototype: an own property on this one instance shadows it.
    Object.defineProperty(addon, "sampleToken", { value: wrapped, configurable: true, writable: true });
  } catch {
    return undefined;
  }
  return tap;
}
