// A Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json, config.json) as the tokenizer.* GGUF
// metadata llama.cpp's convert_hf_to_gguf.py writes for a byte-level BPE ("gpt2") vocabulary: the token list
// padded to config.json's vocab_size, token types (control / user-defined / unused), merges, the pre-tokenizer
// name, special token ids, add_bos/add_eos and the chat template (get_vocab_base, _set_vocab_gpt2 and gguf-py's
// SpecialVocab), or a Llama-2-style SentencePiece BPE as the "llama" tokenizer (spmVocab). llama.cpp then tokenizes from that metadata, so the tokens a checkpoint base trains on are the
// ones llama.cpp (and Ollama) will feed the exported model.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";

/** llama.cpp's token types (llama_token_type / gguf TokenType). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

interface AddedToken { id: number; content: string; special?: boolean; normalized?: boolean }
interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]>; byte_fallback?: boolean };
  pre_tokenizer?: PreTokenizer | null;
  post_processor?: Record<string, unknown> | null;
  normalizer?: Record<string, unknown> | null;
  added_tokens?: AddedToken[];
}
interface PreTokenizer { type?: string; pretokenizers?: PreTokenizer[]; pattern?: { Regex?: string; String?: string }; behavior?: string; invert?: boolean; use_regex?: boolean; individual_digits?: boolean; add_prefix_space?: boolean }

/**
 * The pre-tokenizer splits llama.cpp implements, by the regex tokenizer.json's Split carries (llama-vocab.cpp
 * writes each one out beside its name). The converter picks the name by hashing the tokens of a probe text,
 * which needs the exact Python tokenizer; the regex is what that hash stands for, so the same name follows.
 */
const PRE_BY_SPLIT_REGEX: Record<string, string> = {
  // Llama 3 (meta-llama/Meta-Llama-3-8B and every Llama-3.x): digits in runs of up to three.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "llama-bpe",
  // Mistral Nemo's "tekken" (llama-vocab.cpp quotes this original; no packaged tokenizer here to test it against).
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "tekken",
  // Qwen 1.5 / 2 / 2.5 / 3: single digits.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "qwen2",
};

/** tokenizer.ggml.pre for a byte-level BPE pre-tokenizer, or a reason it is not one llama.cpp implements. */
export function preTokenizerName(pre: PreTokenizer | null | undefined): { name: string } | { reason: string } {
  const parts = pre?.type === "Sequence" ? pre.pretokenizers ?? [] : pre ? [pre] : [];
  const byteLevel = parts.at(-1);
  if (byteLevel?.type !== "ByteLevel") return { reason: `pre_tokenizer ${JSON.stringify(pre)?.slice(0, 120)} is not byte-level BPE` };
  const before = parts.slice(0, -1);
  if (before.length === 0 && byteLevel.use_regex !== false) return { name: "gpt-2" }; // GPT-2's own regex
  // SmolLM / SmolLM2: every digit apart, then GPT-2's regex.
  if (before.length === 1 && before[0]!.type === "Digits" && before[0]!.individual_digits && byteLevel.use_regex !== false) return { name: "smollm" };
  const split = before[0];
  if (before.length === 1 && split?.type === "Split" && split.pattern?.Regex && byteLevel.use_regex === false && !split.invert && split.behavior === "Isolated") {
    const name = PRE_BY_SPLIT_REGEX[split.pattern.Regex];
    if (name) return { name };
    return { reason: `its pre-tokenizer regex ${JSON.stringify(split.pattern.Regex).slice(0, 100)}… is not one this converter maps to llama.cpp's (Llama-3, Qwen2/3, Mistral Nemo, GPT-2, SmolLM)` };
  }
  return { reason: `its pre-tokenizer (${parts.map((p) => p.type).join(" + ")}) is not one this converter maps to llama.cpp's (Llama-3, Qwen2/3, Mistral Nemo, GPT-2, SmolLM)` };
}

/** convert_hf_to_gguf.py does_token_look_special: added tokens that act as control tokens though not marked special. */
function looksSpecial(t: string): boolean {
  return ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(t) || (t.startsWith("<|") && t.endsWith("|>")) ||
    (t.startsWith("<｜") && t.endsWith("｜>")) || (t.startsWith("<unused") && t.endsWith(">"));
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new PipelineError("E_MODEL", `cannot read ${(e as Error).message}`, { file: path });
  }
}

export interface HfVocab {
  metadata: Record<string, GgufValue>;
  /** What `model info` says: "gpt2 BPE (llama-bpe), 128256 tokens". */
  summary: string;
  chatTemplate?: string;
}

/** The tokenizer of checkpoint folder `dir`; `vocabSize` is config.json's (the embedding's rows). */
export function hfVocab(dir: string, vocabSize: number | undefined, opts: { arch: string; config: Record<string, unknown> }): HfVocab {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file)) {
    throw new PipelineError("E_MODEL", "the checkpoint has no tokenizer.json (a tokenizer.model-only SentencePiece folder is not converted here); " +
      "save the tokenizer with transformers' `AutoTokenizer.from_pretrained(...).save_pretrained(dir)`, or convert with llama.cpp's convert_hf_to_gguf.py and use the .gguf", { file: dir });
  }
  const tok = readJson(file) as TokenizerJson;
  const model = tok.model ?? {};
  if (model.type === "BPE" && model.byte_fallback && opts.arch === "llama") {
    const spm = spmVocab(dir, tok, vocabSize, opts.config);
    if (spm) return spm;
  }
  if (model.type !== "BPE" || model.byte_fallback) {
    const kind = model.type === "BPE" ? "a SentencePiece-style BPE with byte fallback" : `a ${model.type ?? "unknown"} model`;
    throw new PipelineError("E_MODEL", `tokenizer.json holds ${kind} in a form not converted here (converted: byte-level BPE — Llama-3, Qwen2/2.5/3, SmolLM — and Llama-2-style SentencePiece BPE for llama/mistral). ` +
      "Convert this model with llama.cpp's convert_hf_to_gguf.py and set FINETUNE_MODEL_NAME to the .gguf, or use its Ollama name", { file, field: "model.type" });
  }
  const pre = preTokenizerName(tok.pre_tokenizer);
  if ("reason" in pre) {
    throw new PipelineError("E_MODEL", `llama.cpp would not tokenize this model as it was trained: ${pre.reason}. ` +
      "Convert it with llama.cpp's convert_hf_to_gguf.py (which knows more tokenizers) and set FINETUNE_MODEL_NAME to the .gguf", { file, field: "pre_tokenizer" });
  }
  const vocab = model.vocab ?? {};
  const added = tok.added_tokens ?? [];
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(vocab)) byId.set(id, text);
  const addedById = new Map<number, AddedToken>();
  for (const a of added) { byId.set(a.id, a.content); addedById.set(a.id, a); }
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  const n = vocabSize ?? maxId + 1;
  if (maxId >= n) throw new PipelineError("E_MODEL", `tokenizer.json has token id ${maxId} but config.json's vocab_size is ${n}; the tokenizer does not belong to these weights`, { file, field: "vocab_size" });

  const tokens: string[] = new Array(n);
  const types: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const text = byId.get(i);
    const a = addedById.get(i);
    if (text === undefined) { tokens[i] = `[PAD${i}]`; types[i] = TOKEN_TYPE.unused; continue; }
    if (!a) { tokens[i] = text; types[i] = TOKEN_TYPE.normal; continue; }
    // Added tokens: control when marked special or shaped like one, else user-defined with SentencePiece's
    // "▁" pre-normalized to a space (llama.cpp matches user-defined tokens against raw text).
    if (a.special || looksSpecial(text)) { tokens[i] = text; types[i] = TOKEN_TYPE.control; } else { tokens[i] = text.replaceAll("\u2581", " "); types[i] = TOKEN_TYPE.userDefined; }
  }
  // Merges as "a b"; the list-of-pairs form (transformers ≥ 4.45) may hold spaces, written as U+0120 as the converter does.
  const merges = (model.merges ?? []).map((m) => (typeof m === "string" ? m : m.map((part) => part.replaceAll(" ", "\u0120")).join(" ")));
  if (!merges.length) throw new PipelineError("E_MODEL", "tokenizer.json has no merges; a BPE vocabulary needs them", { file, field: "model.merges" });

  const md: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: "gpt2" },
    "tokenizer.ggml.pre": { type: "string", value: pre.name },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
    "tokenizer.ggml.token_type": { type: "array", itemType: "i32", value: types },
    "tokenizer.ggml.merges": { type: "array", itemType: "string", value: merges },
  };
  const special = specialTokens(dir, tok, n, opts.config);
  for (const [typ, id] of Object.entries(special.ids)) md[`tokenizer.ggml.${ID_KEY[typ] ?? typ}_token_id`] = { type: "u32", value: id };
  for (const [typ, on] of Object.entries(special.add)) md[`tokenizer.ggml.add_${typ}_token`] = { type: "bool", value: on };
  if (special.addSpacePrefix !== undefined && opts.arch === "llama") md["tokenizer.ggml.add_space_prefix"] = { type: "bool", value: special.addSpacePrefix };
  if (special.chatTemplate !== undefined) md["tokenizer.chat_template"] = { type: "string", value: special.chatTemplate };
  return {
    metadata: md,
    summary: `byte-level BPE (tokenizer.ggml.pre ${pre.name}), ${n} tokens, ${merges.length} merges`,
    ...(special.chatTemplate !== undefined ? { chatTemplate: special.chatTemplate } : {}),
  };
}

/** gguf-py's key names (Keys.Tokenizer), "seperator" spelled as llama.cpp reads it. */
const ID_KEY: Record<string, string> = { unk: "unknown", pad: "padding", sep: "seperator" };

/**
 * A Llama-2-style SentencePiece BPE (byte fallback, "▁" for spaces: Llama-2, Mistral v0.1–v0.3, TinyLlama) as
 * llama.cpp's "llama" tokenizer: tokens, types (byte <0xXX>, unknown, control, user-defined) and scores. llama.cpp
 * merges the adjacent pair whose joined token scores highest; HF applies merges by rank. Scoring each token by minus
 * the rank of the first merge that makes it gives the same order, so the same tokens — what a tokenizer.model's
 * scores do for the converter (which, without one, writes -1000 for all, losing that order). Undefined for a shape
 * not handled (the caller refuses it).
 */
function spmVocab(dir: string, tok: TokenizerJson, vocabSize: number | undefined, config: Record<string, unknown>): HfVocab | undefined {
  const norms = (tok.normalizer?.type === "Sequence" ? (tok.normalizer.normalizers as Array<Record<string, unknown>>) : tok.normalizer ? [tok.normalizer] : []);
  const replaces = norms.some((n) => n.type === "Replace" && (n.pattern as { String?: string } | undefined)?.String === " " && n.content === "\u2581");
  const prepends = norms.some((n) => n.type === "Prepend" && n.prepend === "\u2581");
  const meta = tok.pre_tokenizer as (PreTokenizer & { replacement?: string; prepend_scheme?: string; split?: boolean }) | null | undefined;
  let addSpacePrefix: boolean;
  if (replaces && !meta && norms.every((n) => n.type === "Replace" || n.type === "Prepend")) addSpacePrefix = prepends;
  else if (!norms.length && meta?.type === "Metaspace" && meta.replacement === "\u2581" && meta.split === false) addSpacePrefix = meta.prepend_scheme !== "never";
  else return undefined;
  const model = tok.model!;
  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(model.vocab ?? {})) byId.set(id, text);
  const addedById = new Map<number, AddedToken>();
  for (const a of tok.added_tokens ?? []) { byId.set(a.id, a.content); addedById.set(a.id, a); }
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  const n = vocabSize ?? maxId + 1;
  if (maxId >= n) throw new PipelineError("E_MODEL", `tokenizer.json has token id ${maxId} but config.json's vocab_size is ${n}`, { file: join(dir, "tokenizer.json"), field: "vocab_size" });
  const vocab = model.vocab ?? {};
  const rank = new Map<number, number>();
  (model.merges ?? []).forEach((m, r) => {
    const [a, b] = typeof m === "string" ? m.split(" ") as [string, string] : m;
    const id = vocab[a + b];
    if (id !== undefined && !rank.has(id)) rank.set(id, r);
  });
  const unk = (model as { unk_token?: string }).unk_token;
  const tokens: string[] = new Array(n), types: number[] = new Array(n), scores: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const text = byId.get(i), a = addedById.get(i);
    scores[i] = rank.has(i) ? -rank.get(i)! : text !== undefined && [...text].length > 1 && !a ? -1e9 : 0;
    if (text === undefined) { tokens[i] = `[PAD${i}]`; types[i] = TOKEN_TYPE.unused; continue; }
    tokens[i] = text;
    types[i] = /^<0x[0-9A-Fa-f]{2}>$/.test(text) ? TOKEN_TYPE.byte : text === unk ? TOKEN_TYPE.unknown
      : a ? (a.special || looksSpecial(text) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined) : TOKEN_TYPE.normal;
  }
  const md: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: "llama" },
    "tokenizer.ggml.pre": { type: "string", value: "default" },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
    "tokenizer.ggml.scores": { type: "array", itemType: "f32", value: scores },
    "tokenizer.ggml.token_type": { type: "array", itemType: "i32", value: types },
    "tokenizer.ggml.add_space_prefix": { type: "bool", value: addSpacePrefix },
  };
  const special = specialTokens(dir, tok, n, config);
  for (const [typ, id] of Object.entries(special.ids)) md[`tokenizer.ggml.${ID_KEY[typ] ?? typ}_token_id`] = { type: "u32", value: id };
  for (const [typ, on] of Object.entries(special.add)) md[`tokenizer.ggml.add_${typ}_token`] = { type: "bool", value: on };
  if (special.chatTemplate !== undefined) md["tokenizer.chat_template"] = { type: "string", value: special.chatTemplate };
  return {
    metadata: md,
    summary: `SentencePiece BPE (tokenizer.ggml.model llama, byte fallback${addSpacePrefix ? ", space prefix" : ""}), ${n} tokens`,
    ...(special.chatTemplate !== undefined ? { chatTemplate: special.chatTemplate } : {}),
  };
}

interface Special { ids: Record<string, number>; add: Record<string, boolean>; chatTemplate?: string; addSpacePrefix?: boolean }

/**
 * gguf-py SpecialVocab: ids of the tokens tokenizer_config.json names (looked up among tokenizer.json's added tokens),
 * then config.json's `<typ>_token_id` for those still unset; add_bos from a TemplateProcessing post-processor that
 * starts with the BOS token, overridden by tokenizer_config's add_<typ>_token; the chat template from
 * tokenizer_config.json, else chat_template.jinja, else chat_template.json.
 */
function specialTokens(dir: string, tok: TokenizerJson, n: number, config: Record<string, unknown>): Special {
  const cfgPath = join(dir, "tokenizer_config.json");
  const tc = existsSync(cfgPath) ? readJson(cfgPath) : undefined;
  const out: Special = { ids: {}, add: {} };
  const set = (typ: string, id: unknown) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= n || typ in out.ids) return;
    out.ids[typ] = id;
  };
  const content = (v: unknown): string | undefined => (typeof v === "string" ? v : v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string" ? (v as { content: string }).content : undefined);
  const types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];
  let bos = content(tc?.bos_token) ?? content(tc?.cls_token);
  const post = tok.post_processor;
  const processors = (post && Array.isArray(post.processors) ? post.processors : post ? [post] : []) as Array<Record<string, unknown>>;
  for (const p of processors) {
    if (p.type !== "TemplateProcessing") continue;
    const single = (p.single ?? []) as Array<{ SpecialToken?: { id?: string } }>;
    const first = single.length > 1 ? single[0]?.SpecialToken?.id : undefined;
    if (first) {
      if (!bos) bos = first;
      out.add.bos = first === bos;
    }
  }
  if (tc) {
    for (const typ of types) {
      const add = tc[`add_${typ}_token`];
      if (typeof add === "boolean") out.add[typ] = add;
      const text = typ === "bos" ? bos : content(tc[`${typ}_token`]);
      if (text === undefined) continue;
      set(typ, (tok.added_tokens ?? []).find((a) => a.content === text)?.id);
    }
    const template = tc.chat_template;
    if (typeof template === "string") out.chatTemplate = template;
    if (typeof tc.add_prefix_space === "boolean") out.addSpacePrefix = tc.add_prefix_space;
  }
  if (out.chatTemplate === undefined) {
    const jinja = join(dir, "chat_template.jinja"), json = join(dir, "chat_template.json");
    if (existsSync(jinja)) out.chatTemplate = readFileSync(jinja, "utf8");
    else if (existsSync(json)) {
      const t = readJson(json).chat_template;
      if (typeof t === "string") out.chatTemplate = t;
    }
  }
  for (const typ of types) set(typ, config[`${typ}_token_id`]);
  return out;
}
