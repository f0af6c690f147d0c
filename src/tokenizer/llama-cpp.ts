// A vocab-only llama.cpp tokenizer, for real base models whose tokenizer we do not reimplement.
import type { LlamaModel } from "node-llama-cpp";
import { PipelineError } from "../errors.ts";
import { getLlamaCpp } from "../llama-cpp/runtime.ts";
import type { Tokenizer } from "./types.ts";

/** Tokenize with the model's own vocabulary: llama.cpp loads only the vocabulary (no weights). */
export async function llamaCppTokenizer(modelPath: string, tokenTexts?: string[]): Promise<Tokenizer & { model: LlamaModel; dispose(): Promise<void> }> {
  const llama = await getLlamaCpp();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath, vocabOnly: true });
  } catch (e) {
    throw new PipelineError("E_MODEL", `llama.cpp could not load the vocabulary: ${(e as Error).message}`, { file: modelPath }, { cause: e });
  }
  const t = model.tokens;
  if (t.bos === null && t.eos === null) throw new PipelineError("E_MODEL", "model has neither a BOS nor an EOS token; it cannot be fine-tuned as a chat model", { file: modelPath });
  const eos = (t.eos ?? t.eot)!;
  return {
    model,
    bos: t.bos ?? eos,
    eos,
    eot: t.eot ?? undefined,
    vocabSize: tokenTexts?.length ?? model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    encode(text, opts = {}) {
      const ids = model.tokenize(text, opts.special ?? false) as number[];
      return opts.bos && t.bos !== null ? [t.bos as number, ...ids] : [...ids];
    },
    decode(ids, opts = {}) {
      return model.detokenize(ids as never, opts.special ?? false);
    },
    tokenText(id) {
      return tokenTexts?.[id] ?? model.detokenize([id] as never, true);
    },
    dispose: () => model.dispose(),
  };
}
