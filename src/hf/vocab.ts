// A checkpoint folder's tokenizer (tokenizer.json, tokenizer_config.json, and the chat_template.jinja /
// chat_template.json newer transformers save beside them) read from disk and turned into the tokenizer.* GGUF
// metadata by tokenizer-gguf.ts, which holds every rule of the conversion. llama.cpp then tokenizes from that
// metadata, so the tokens a checkpoint base trains on are the ones llama.cpp (and Ollama) feed the exported model.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";
import { hfTokenizerMetadata, type HfTokenizerFiles } from "./tokenizer-gguf.ts";

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new PipelineError("E_MODEL", `cannot read ${(e as Error).message}`, { file: path });
  }
}

/** tokenizer.json and tokenizer_config.json of `dir`, the chat template taken from its own file when the config has none. */
export function readTokenizerFolder(dir: string): HfTokenizerFiles {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) {
    throw new PipelineError("E_MODEL", "the checkpoint has no tokenizer.json (a tokenizer.model-only SentencePiece folder is not converted here); " +
      "save the tokenizer with transformers' `AutoTokenizer.from_pretrained(...).save_pretrained(dir)`, or convert with llama.cpp's convert_hf_to_gguf.py and use the .gguf", { file: dir });
  }
  const cfgPath = join(dir, "tokenizer_config.json");
  const config: Record<string, unknown> = existsSync(cfgPath) ? readJson(cfgPath) : {};
  if (config.chat_template === undefined) {
    const jinja = join(dir, "chat_template.jinja"), json = join(dir, "chat_template.json");
    if (existsSync(jinja)) config.chat_template = readFileSync(jinja, "utf8");
    else if (existsSync(json)) config.chat_template = readJson(json).chat_template;
  }
  return { tokenizer: readJson(file), config, source: file };
}

export interface HfVocab {
  metadata: Record<string, GgufValue>;
  /** What `model info` says: "byte-level BPE (tokenizer.ggml.pre llama-bpe), 128256 tokens, 280147 merges". */
  summary: string;
  chatTemplate?: string;
}

/** The tokenizer of checkpoint folder `dir`; `vocabSize` is config.json's (the embedding's rows). */
export function hfVocab(dir: string, vocabSize: number | undefined, opts: { arch: string; config: Record<string, unknown> }): HfVocab {
  const files = readTokenizerFolder(dir);
  const md = hfTokenizerMetadata(files, { vocabSize, modelConfig: opts.config });
  const n = (md["tokenizer.ggml.tokens"]!.value as string[]).length;
  const chatTemplate = md["tokenizer.chat_template"]?.value as string | undefined;
  const summary = md["tokenizer.ggml.model"]!.value === "gpt2"
    ? `byte-level BPE (tokenizer.ggml.pre ${md["tokenizer.ggml.pre"]!.value as string}), ${n} tokens, ${(md["tokenizer.ggml.merges"]!.value as string[]).length} merges`
    : `SentencePiece BPE (tokenizer.ggml.model llama, byte fallback${md["tokenizer.ggml.add_space_prefix"]?.value ? ", space prefix" : ""}), ${n} tokens`;
  return { metadata: md, summary, ...(chatTemplate !== undefined ? { chatTemplate } : {}) };
}
