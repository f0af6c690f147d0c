// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) as the tokenizer.* GGUF metadata llama.cpp's
// converter (convert_hf_to_gguf.py: set_vocab_gpt2 / _set_vocab_sentencepiece, gguf-py SpecialVocab) writes, so
// that llama.cpp tokenizes a model we write exactly as tokenizer.json does. Two families:
//   byte-level BPE (Llama-3, Qwen2/2.5/3, SmolLM…): tokenizer.ggml.model "gpt2", tokens + merges, and a
//     pre-tokenizer name (tokenizer.ggml.pre) that selects llama.cpp's built-in split regex;
//   SentencePiece-style (Gemma, Llama-2, TinyLlama, Phi-3): model "llama", tokens + scores, byte tokens <0xNN>.
// llama.cpp picks `pre` by hashing a test string's tokens; here it is read from the pre-tokenizer itself (its split
// regex and digit rule), which is what that hash stands for, and an unknown one is refused rather than guessed:
// a wrong `pre` tokenizes differently with no error anywhere.
import { PipelineError } from "../errors.ts";
import type { GgufValue } from "../gguf/types.ts";

/** llama.cpp's token types (gguf-py TokenType). */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

interface AddedToken { id: number; content: string; special?: boolean }
type Json = Record<string, any>;

export interface HfTokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: Json;
  /** Parsed tokenizer_config.json ({} when there is none). */
  config: Json;
  /** Where they came from, for error messages. */
  source: string;
}

/**
 * The pre-tokenizer splits llama.cpp implements, by the regex tokenizer.json's Split carries (llama-vocab.cpp writes
 * each out beside its name).
 */
const PRE_BY_SPLIT_REGEX: Record<string, string> = {
  // Llama 3 (and every Llama-3.x): digits in runs of up to three.
  [String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`]: "llama-bpe",
  // Mistral Nemo's "tekken" (as llama-vocab.cpp quotes it; no packaged tokenizer here to test it against).
  [String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`]: "tekken",
  // Qwen 1.5 / 2 / 2.5 / 3: single digits.
  [String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`]: "qwen2",
};
const KNOWN = "Llama-3, Qwen2/2.5/3, Mistral Nemo, GPT-2, SmolLM";

/** Every pre-tokenizer step of a tokenizer.json, flattened out of Sequence. */
function preSteps(t: Json): Json[] {
  const p = t.pre_tokenizer;
  if (!p) return [];
  return p.type === "Sequence" ? (p.pretokenizers as Json[]) : [p];
}

/**
 * llama.cpp's name (tokenizer.ggml.pre) for a byte-level BPE pre-tokenizer — "llama-bpe", "qwen2", "tekken",
 * "smollm" (single digits, then GPT-2's split), "gpt-2" — or why it is not one llama.cpp implements.
 */
export function preTokenizerName(pre: Json | null | undefined): { name: string } | { reason: string } {
  const parts: Json[] = pre?.type === "Sequence" ? pre.pretokenizers ?? [] : pre ? [pre] : [];
  const byteLevel = parts.at(-1);
  if (byteLevel?.type !== "ByteLevel") return { reason: `pre_tokenizer ${JSON.stringify(pre)?.slice(0, 120)} is not byte-level BPE` };
  const before = parts.slice(0, -1);
  if (before.length === 0 && byteLevel.use_regex !== false) return { name: "gpt-2" };
  if (before.length === 1 && before[0]!.type === "Digits" && before[0]!.individual_digits && byteLevel.use_regex !== false) return { name: "smollm" };
  const split = before[0];
  if (before.length === 1 && split?.type === "Split" && split.pattern?.Regex && byteLevel.use_regex === false && !split.invert && split.behavior === "Isolated") {
    const name = PRE_BY_SPLIT_REGEX[split.pattern.Regex as string];
    if (name) return { name };
    return { reason: `its pre-tokenizer regex ${JSON.stringify(split.pattern.Regex).slice(0, 100)}… is not one this converter maps to llama.cpp's (${KNOWN})` };
  }
  return { reason: `its pre-tokenizer (${parts.map((x) => x.type).join(" + ")}) is not one this converter maps to llama.cpp's (${KNOWN})` };
}

/** preTokenizerName for a whole tokenizer, refused with the reason: a guessed `pre` would tokenize differently with no error anywhere. */
export function bpePreName(f: HfTokenizerFiles): string {
  const r = preTokenizerName(f.tokenizer.pre_tokenizer);
  if ("name" in r) return r.name;
  throw new PipelineError("E_MODEL", `llama.cpp would not tokenize this model as tokenizer.json does: ${r.reason}. Convert it with llama.cpp's convert_hf_to_gguf.py (which knows more tokenizers) and use the .gguf`, { file: f.source, field: "pre_tokenizer" });
}

/** convert_hf_to_gguf's does_token_look_special: added tokens it marks CONTROL even when tokenizer.json does not say special. */
function looksSpecial(text: string): boolean {
  return ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(text)
    || (text.startsWith("<|") && text.endsWith("|>"))
    || (text.startsWith("<｜") && text.endsWith("｜>"))
    || (text.startsWith("<unused") && text.endsWith(">"));
}

/** A SentencePiece-style tokenizer.json: BPE with byte fallback on ▁-marked text, or Unigram. */
function isSentencePiece(t: Json): boolean {
  const m = t.model ?? {};
  if (m.type === "Unigram") return true;
  if (m.type !== "BPE") return false;
  return m.byte_fallback === true && !preSteps(t).some((s) => s.type === "ByteLevel");
}

/** Whether text gets a leading ▁ (llama.cpp's add_space_prefix): a Prepend("▁") normalizer or a Metaspace that prepends. */
function addsSpacePrefix(t: Json): boolean {
  const norms: Json[] = t.normalizer ? (t.normalizer.type === "Sequence" ? t.normalizer.normalizers : [t.normalizer]) : [];
  if (norms.some((n) => n.type === "Prepend" && n.prepend === "▁")) return true;
  const meta = preSteps(t).find((s) => s.type === "Metaspace");
  return meta ? (meta.prepend_scheme ?? (meta.add_prefix_space ? "always" : "never")) !== "never" : false;
}

/** The content of a tokenizer_config special-token entry, which may be a string or an AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Json).content === "string") return (v as Json).content;
  return undefined;
}

/** The special tokens gguf-py's SpecialVocab reads, with the key llama.cpp reads each under ("seperator" as it spells it). */
const SPECIAL_KEYS: Array<[string, string]> = [["bos", "bos"], ["eos", "eos"], ["unk", "unknown"], ["sep", "seperator"], ["pad", "padding"], ["cls", "cls"], ["mask", "mask"]];

/** The single-sequence template of the tokenizer's TemplateProcessing post-processor, if it has one. */
function singleTemplate(t: Json): Json[] | undefined {
  const posts: Json[] = t.post_processor ? (t.post_processor.type === "Sequence" ? t.post_processor.processors : [t.post_processor]) : [];
  return posts.find((p) => p.type === "TemplateProcessing")?.single as Json[] | undefined;
}

/** The first special token of that template, when text follows it. */
function templateFirst(t: Json): string | undefined {
  const single = singleTemplate(t);
  return single && single.length > 1 ? single[0]?.SpecialToken?.id : undefined;
}

/** Whether that template puts `token` before (or after) a single sequence (HF's way of adding BOS / EOS). */
function templateAdds(t: Json, token: string, where: "first" | "last"): boolean | undefined {
  const single = singleTemplate(t);
  if (!single) return undefined;
  const item = where === "first" ? single[0] : single[single.length - 1];
  return item?.SpecialToken?.id === token;
}

export interface HfTokenizerOptions {
  /** config.json's vocab_size: the embedding's rows, which can exceed the tokenizer's tokens (Qwen: 151,936). */
  vocabSize?: number;
  /** config.json: its `<type>_token_id` fill special ids tokenizer_config.json does not name (gguf-py SpecialVocab). */
  modelConfig?: Json;
}

/**
 * The tokenizer.* GGUF metadata for a Hugging Face tokenizer, as llama.cpp's converter writes it: tokens (padded to
 * the embedding's rows with [PADn]), token types, merges or scores, pre-tokenizer, special token ids, add_bos/add_eos,
 * and the chat template.
 */
export function hfTokenizerMetadata(f: HfTokenizerFiles, o: HfTokenizerOptions = {}): Record<string, GgufValue> {
  const t = f.tokenizer;
  const model = t.model as Json | undefined;
  if (!model || (model.type !== "BPE" && model.type !== "Unigram")) {
    throw new PipelineError("E_MODEL", `tokenizer model "${model?.type ?? "none"}" is not supported (BPE and Unigram are)`, { file: f.source, field: "model.type" });
  }
  const spm = isSentencePiece(t);
  const added = (t.added_tokens ?? []) as AddedToken[];
  const byId = new Map<number, string>();
  const scoreOf = new Map<number, number>();
  if (model.type === "Unigram") {
    (model.vocab as Array<[string, number]>).forEach(([piece, score], id) => { byId.set(id, piece); scoreOf.set(id, score); });
  } else {
    for (const [piece, id] of Object.entries(model.vocab as Record<string, number>)) byId.set(id, piece);
  }
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  if (o.vocabSize !== undefined && maxId >= o.vocabSize) {
    throw new PipelineError("E_MODEL", `tokenizer.json has token id ${maxId} but config.json's vocab_size is ${o.vocabSize}; the tokenizer does not belong to these weights`, { file: f.source, field: "vocab_size" });
  }
  // Added tokens past the embedding's rows are left out, as the converter does (Gemma 3's tokenizer.json carries
  // <image_soft_token> at 262,144 for its vision models; the text model has 262,144 rows).
  const inVocab = added.filter((a) => o.vocabSize === undefined || a.id < o.vocabSize);
  for (const a of inVocab) { byId.set(a.id, a.content); if (a.id > maxId) maxId = a.id; }
  const addedById = new Map(inVocab.map((a) => [a.id, a]));
  const n = o.vocabSize ?? maxId + 1;

  // SentencePiece-style BPE: llama.cpp merges the adjacent pair whose joined piece scores highest, tokenizer.json
  // by its merges' order, so a piece's score is minus the rank of the merge that makes it (pieces no merge makes
  // rank after every merge). Unigram carries its own log-probabilities.
  const mergeRank = new Map<string, number>();
  if (spm && model.type === "BPE") {
    ((model.merges ?? []) as Array<string | [string, string]>).forEach((m, rank) => {
      const [a, b] = typeof m === "string" ? m.split(" ") : m;
      const joined = `${a}${b}`;
      if (!mergeRank.has(joined)) mergeRank.set(joined, rank);
    });
  }
  const unkText = model.unk_token as string | undefined;
  const tokens: string[] = [];
  const types: number[] = [];
  const scores: number[] = [];
  for (let id = 0; id < n; id++) {
    const text = byId.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.UNUSED);
      scores.push(-1000);
      continue;
    }
    const a = addedById.get(id);
    let type: number = TokenType.NORMAL;
    let piece = text;
    if (spm && text === unkText) type = TokenType.UNKNOWN;
    else if (a && (a.special || looksSpecial(text))) type = TokenType.CONTROL;
    else if (a) {
      type = TokenType.USER_DEFINED;
      // As the converter does: a user-defined SentencePiece token is matched on the raw text, so its ▁ are spaces.
      if (spm) piece = text.replaceAll("▁", " ");
    } else if (spm && /^<0x[0-9A-F]{2}>$/.test(text)) type = TokenType.BYTE;
    tokens.push(piece);
    types.push(type);
    scores.push(a ? -1000 : scoreOf.get(id) ?? -(mergeRank.get(text) ?? mergeRank.size + id));
  }

  const idOf = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    for (const a of inVocab) if (a.content === text) return a.id;
    const v = model.type === "Unigram" ? (model.vocab as Array<[string, number]>).findIndex(([p]) => p === text) : (model.vocab as Record<string, number>)[text];
    return v === undefined || v < 0 ? undefined : v;
  };
  // gguf-py SpecialVocab: the tokens tokenizer_config.json names (BOS, when it names none, the first special token a
  // TemplateProcessing post-processor puts before the text), then config.json's <type>_token_id for those unset.
  const bosText = tokenContent(f.config.bos_token) ?? tokenContent(f.config.cls_token) ?? templateFirst(t);
  const specialIds: Record<string, GgufValue> = {};
  for (const [typ, key] of SPECIAL_KEYS) {
    const text = typ === "bos" ? bosText : tokenContent(f.config[`${typ}_token`]);
    let id = idOf(text);
    // Only a missing EOS is fatal (generation could not stop); gguf-py skips the others quietly.
    if (text !== undefined && id === undefined && typ === "eos") {
      throw new PipelineError("E_MODEL", `${typ}_token "${text}" is not a token of tokenizer.json`, { file: f.source, field: `${typ}_token` });
    }
    const fromConfig = o.modelConfig?.[`${typ}_token_id`];
    if (id === undefined && typeof fromConfig === "number" && Number.isInteger(fromConfig) && fromConfig >= 0 && fromConfig < n) id = fromConfig;
    if (id !== undefined) specialIds[`tokenizer.ggml.${key}_token_id`] = { type: "u32", value: id };
  }

  const md: Record<string, GgufValue> = {
    "tokenizer.ggml.model": { type: "string", value: spm ? "llama" : "gpt2" },
    "tokenizer.ggml.pre": { type: "string", value: spm ? "default" : bpePreName(f) },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
    "tokenizer.ggml.token_type": { type: "array", itemType: "i32", value: types },
    ...specialIds,
  };
  if (spm) {
    md["tokenizer.ggml.scores"] = { type: "array", itemType: "f32", value: scores };
    md["tokenizer.ggml.add_space_prefix"] = { type: "bool", value: typeof f.config.add_prefix_space === "boolean" ? f.config.add_prefix_space : addsSpacePrefix(t) };
  } else {
    const merges = (model.merges ?? []) as Array<string | [string, string]>;
    if (!merges.length) throw new PipelineError("E_MODEL", "tokenizer.json has no merges; a BPE vocabulary needs them", { file: f.source, field: "model.merges" });
    // "a b"; the list-of-pairs form (transformers ≥ 4.45) may hold spaces, written as U+0120 as the converter does.
    md["tokenizer.ggml.merges"] = { type: "array", itemType: "string", value: merges.map((m) => (typeof m === "string" ? m : m.map((x) => x.replaceAll(" ", "\u0120")).join(" "))) };
  }
  // add_bos/add_eos: tokenizer_config's flags when it has them, else what the post-processor's template adds.
  const addBos = typeof f.config.add_bos_token === "boolean" ? f.config.add_bos_token : bosText ? templateAdds(t, bosText, "first") : undefined;
  if (addBos !== undefined) md["tokenizer.ggml.add_bos_token"] = { type: "bool", value: addBos };
  const eosText = tokenContent(f.config.eos_token);
  const addEos = typeof f.config.add_eos_token === "boolean" ? f.config.add_eos_token : eosText ? templateAdds(t, eosText, "last") : undefined;
  if (addEos !== undefined) md["tokenizer.ggml.add_eos_token"] = { type: "bool", value: addEos };

  const tpl = f.config.chat_template as string | Array<{ name: string; template: string }> | undefined;
  if (typeof tpl === "string") md["tokenizer.chat_template"] = { type: "string", value: tpl };
  else if (Array.isArray(tpl)) {
    for (const { name, template } of tpl) {
      md[name === "default" ? "tokenizer.chat_template" : `tokenizer.chat_template.${name}`] = { type: "string", value: template };
    }
  }
  return md;
}
