// llama-cpp backend: a GGUF file run in-process by node-llama-cpp on the CPU; a JSON-schema grammar makes replies parse.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import pLimit from "p-limit";
import { PipelineError } from "../errors.ts";
import { getLlamaCpp } from "../llama-cpp/runtime.ts";
import { ProviderError, toProviderError, type ErrorContext } from "./errors.ts";
import type { GenerateRequest, GenerateResult, Provider } from "./types.ts";

export interface LlamaCppOptions {
  /** Path to a .gguf file (--model or PIPELINE_LLM_MODEL). */
  modelPath: string;
  /** CPU threads; default min(2, cores) so other work on a small machine keeps a core. */
  threads?: number;
  /** Upper bound on the context; the model's own training length caps it too. */
  maxContext?: number;
}

type NodeLlamaCpp = typeof import("node-llama-cpp");
type Llama = import("node-llama-cpp").Llama;
type LlamaModel = import("node-llama-cpp").LlamaModel;
type LlamaContextSequence = import("node-llama-cpp").LlamaContextSequence;
type LlamaGrammar = import("node-llama-cpp").LlamaGrammar;
interface Loaded {
  lib: NodeLlamaCpp;
  llama: Llama;
  model: LlamaModel;
  sequence: LlamaContextSequence;
  wrapper: import("node-llama-cpp").ChatWrapper;
  dispose(): Promise<void>;
}

export function llamaCppProvider(opts: LlamaCppOptions): Provider {
  const ctx: ErrorContext = { provider: "llama-cpp", model: opts.modelPath, urlVar: "--model or PIPELINE_LLM_MODEL" };
  const threads = opts.threads ?? Math.min(2, availableParallelism());
  // One sequence, one request at a time: the CPU is the limit, and a sequence holds one conversation.
  const serial = pLimit(1);
  const grammars = new Map<string, Promise<unknown>>();
  let loading: Promise<Loaded> | undefined;

  function load(): Promise<Loaded> {
    loading ??= (async () => {
      if (!existsSync(opts.modelPath)) {
        throw new PipelineError("E_CONFIG", `GGUF model file not found: ${opts.modelPath}; set --model or PIPELINE_LLM_MODEL to a .gguf file`, { field: "PIPELINE_LLM_MODEL" });
      }
      // Imported only when used: node-llama-cpp is slow to load.
      const lib = await import("node-llama-cpp");
      try {
        // The process-wide instance (gpu: false, build: "never"), shared with the training code.
        const llama = await getLlamaCpp();
        const model = await llama.loadModel({ modelPath: opts.modelPath });
        const context = await model.createContext({ threads, sequences: 1, contextSize: { max: opts.maxContext ?? 4096 } });
        const sequence = context.getSequence();
        const wrapper = lib.resolveChatWrapper(model);
        return { lib, llama, model, sequence, wrapper, dispose: async () => { await context.dispose(); await model.dispose(); } };
      } catch (e) {
        throw new PipelineError("E_MODEL", `llama.cpp could not load ${opts.modelPath}: ${(e as Error).message}`, { file: opts.modelPath }, { cause: e });
      }
    })();
    loading.catch(() => { loading = undefined; });
    return loading;
  }

  return {
    name: "llama-cpp",
    model: opts.modelPath,
    // More would only queue inside, where the client's per-request timeout would already be running.
    maxConcurrency: 1,
    generate: (req: GenerateRequest) =>
      serial(async (): Promise<GenerateResult> => {
        const { lib, llama, model, sequence, wrapper } = await load();
        try {
          // The model's own chat template renders the turns; a completion (not a chat session, which is
          // several times slower per token) continues them, constrained by the schema's grammar.
          const history = [
            ...req.messages.map((m) =>
              m.role === "system" ? { type: "system" as const, text: m.content } : m.role === "user" ? { type: "user" as const, text: m.content } : { type: "model" as const, response: [m.content] },
            ),
            { type: "model" as const, response: [] },
          ];
          const state = wrapper.generateContextState({ chatHistory: history });
          const prompt = state.contextText.tokenize(model.tokenizer);
          let grammar: LlamaGrammar | undefined;
          if (req.schema) {
            const key = JSON.stringify(req.schema.schema);
            if (!grammars.has(key)) grammars.set(key, llama.createGrammarForJsonSchema(req.schema.schema as never));
            grammar = (await grammars.get(key)) as LlamaGrammar;
          }
          await sequence.clearHistory();
          const completion = new lib.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
          try {
            const before = sequence.tokenMeter.getState();
            const text = await completion.generateCompletion(prompt, {
              ...(grammar && { grammar }),
              ...(req.temperature !== undefined && { temperature: req.temperature }),
              maxTokens: req.maxTokens ?? 1024,
              customStopTriggers: state.stopGenerationTriggers,
              signal: req.signal,
            });
            const used = sequence.tokenMeter.diff(before);
            return {
              text: text.trim(),
              usage: { inputTokens: prompt.length, outputTokens: used.usedOutputTokens || model.tokenize(text).length },
              model: opts.modelPath,
            };
          } finally {
            completion.dispose({ disposeSequence: false });
          }
        } catch (error) {
          if (error instanceof PipelineError && !(error instanceof ProviderError)) throw error;
          throw toProviderError(error, ctx, req.signal);
        }
      }),
    async check() {
      await load();
    },
    async close() {
      const l = loading;
      loading = undefined;
      if (l) await (await l.catch(() => undefined))?.dispose();
    },
  };
}
