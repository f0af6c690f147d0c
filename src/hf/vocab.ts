// The tokenizer of a checkpoint folder as GGUF metadata: tokenizer-gguf.ts does what llama.cpp's converter writes for
// tokenizer.json + tokenizer_config.json; here the folder's other sources the converter also reads are added —
// chat_template.jinja / chat_template.json when tokenizer_config.json has no template, config.json's <typ>_token_id
// for special ids the tokenizer files leave unset (gguf-py SpecialVocab._try_load_from_config_json: Qwen's bos), and
// LlamaModel.set_vocab's add_prefix_space — with the refusal naming what to do instead.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";
import { hfTokenizerMetadata } from "./tokenizer-gguf.ts";

export interface HfVocab {
  metadata: Record<string, GgufValue>;
  /** What `model info` says: "byte-level BPE (tokenizer.ggml.pre llama-bpe), 128256 tokens, 280147 merges". */
  summary: string;
  chatTemplate?: string;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new PipelineError("E_MODEL", `cannot read ${(e as Error).message}`, { file: path });
  }
}

/** gguf-py's key for each special token type SpecialVocab reads from config.json. */
const ID_KEYS: Array<[string, string]> = [["bos", "bos"], ["eos", "eos"], ["unk", "unknown"], ["pad", "padding"]];

/** The tokenizer of checkpoint folder `dir`; `vocabSize` is config.json's (the embedding's rows). */
export function hfVocab(dir: string, vocabSize: number | undefined, opts: { arch: string; config: Record<string, unknown> }): HfVocab {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) {
    throw new PipelineError("E_MODEL", "the checkpoint has no tokenizer.json (a tokenizer.model-only SentencePiece folder is not converted here); " +
      "save the tokenizer with transformers' `AutoTokenizer.from_pretrained(...).save_pretrained(dir)`, or convert with llama.cpp's convert_hf_to_gguf.py and use the .gguf", { file: dir });
  }
  const cfgPath = join(dir, "tokenizer_config.json");
  const config = existsSync(cfgPath) ? readJson(cfgPath) : {};
  if (config.chat_template === undefined) {
    const jinja = join(dir, "chat_template.jinja"), json = join(dir, "chat_template.json");
    if (existsSync(jinja)) config.chat_template = readFileSync(jinja, "utf8");
    else if (existsSync(json)) config.chat_template = readJson(json).chat_template;
  }
  let md: Record<string, GgufValue>;
  try {
    md = hfTokenizerMetadata({ tokenizer: readJson(file), config, source: file }, vocabSize !== undefined ? { vocabSize } : {});
  } catch (e) {
    if (!(e instanceof PipelineError)) throw e;
    throw new PipelineError(e.code, `${e.message}. Convert this model with llama.cpp's convert_hf_to_gguf.py and set FINETUNE_MODEL_NAME to the .gguf, or use its Ollama name`, e.where, { cause: e });
  }
  const n = (md["tokenizer.ggml.tokens"]!.value as unknown[]).length;
  for (const [typ, key] of ID_KEYS) {
    const id = opts.config[`${typ}_token_id`];
    if (md[`tokenizer.ggml.${key}_token_id`] === undefined && typeof id === "number" && Number.isInteger(id) && id >= 0 && id < n) md[`tokenizer.ggml.${key}_token_id`] = { type: "u32", value: id };
  }
  if (opts.arch === "llama" && typeof config.add_prefix_space === "boolean") md["tokenizer.ggml.add_space_prefix"] = { type: "bool", value: config.add_prefix_space };
  const model = md["tokenizer.ggml.model"]!.value;
  const template = md["tokenizer.chat_template"]?.value;
  return {
    metadata: md,
    summary: model === "gpt2"
      ? `byte-level BPE (tokenizer.ggml.pre ${String(md["tokenizer.ggml.pre"]!.value)}), ${n} tokens, ${(md["tokenizer.ggml.merges"]!.value as unknown[]).length} merges`
      : `SentencePiece (tokenizer.ggml.model llama${md["tokenizer.ggml.add_space_prefix"]?.value ? ", space prefix" : ""}), ${n} tokens`,
    ...(typeof template === "string" ? { chatTemplate: template } : {}),
  };
}
