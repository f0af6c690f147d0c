// Chat templates: the model's own jinja template (tokenizer.chat_template) or a family preset, rendered
// with @huggingface/jinja; and the matching Ollama TEMPLATE + stops (modelfile-template.ts does that part).
//
// CONTRACT:
//   chatTemplateOf(gguf, family?) → ChatTemplateInfo { template, source: "gguf"|family, bosToken, eosToken, eogTokens }
//       The GGUF's template wins; FINETUNE_MODEL_TYPE (family) is the fallback; neither → E_MODEL with advice.
//   renderChat(template, messages, { addGenerationPrompt?, bosToken?, eosToken? }) → string
//   splitPromptAnswer(info, messages) → { prompt, answer }: the text up to the last assistant turn (generation
//       prompt included, leading BOS text dropped since the tokenizer adds BOS) and that turn's text with its
//       end marker — train on `answer` tokens only. Tokenize both with { special: true }.
//   ollamaTemplateFor(info) → { template, stop[], source, verified }   (re-exported from modelfile-template.ts)
import { Template } from "@huggingface/jinja";
import { PipelineError } from "../errors.ts";
import type { GgufFile } from "../gguf/types.ts";
import { JINJA_PRESETS } from "./presets.ts";
import { normalizeFamily, ollamaTemplateFor as ollamaFromInfo, TEMPLATE_FAMILIES, type OllamaTemplate, type TemplateSourceInfo } from "./ollama-template.ts";

export { CHATML_TEMPLATE, JINJA_PRESETS } from "./presets.ts";
export interface ChatMessage { role: string; content: string }

export interface ChatTemplateInfo {
  template: string;
  source: string;
  bosToken?: string;
  eosToken?: string;
  eogTokens: string[];
}

export function presetTemplate(family: string): { template: string; family: string } {
  const fam = normalizeFamily(family);
  if (!fam) throw new PipelineError("E_CONFIG", `unknown model type "${family}" for the chat template (FINETUNE_MODEL_TYPE, --model-type); use one of ${TEMPLATE_FAMILIES.join(", ")}, or leave it unset`, { field: "FINETUNE_MODEL_TYPE" });
  return { template: JINJA_PRESETS[fam], family: fam };
}

/**
 * FINETUNE_MODEL_TYPE checked before any work: it is read only when the base has no chat template, so a typo
 * went unnoticed on a base with one (and reached export, or another base, later).
 */
export function checkModelType(family: string | undefined): void {
  if (family !== undefined) presetTemplate(family);
}

const EOG_TEXTS = ["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "</s>"];

/** The model's chat template and special token texts; `family` is used when the file has no template. */
export function chatTemplateOf(f: GgufFile, family?: string): ChatTemplateInfo {
  const tokens = f.meta<string[]>("tokenizer.ggml.tokens") ?? [];
  const text = (key: string) => { const id = f.meta<number>(key); return id === undefined ? undefined : tokens[id]; };
  const types = f.meta<number[]>("tokenizer.ggml.token_type") ?? [];
  const eogTokens = EOG_TEXTS.filter((t) => { const i = tokens.indexOf(t); return i >= 0 && types[i] !== 1; });
  const eot = text("tokenizer.ggml.eot_token_id");
  if (eot && !eogTokens.includes(eot)) eogTokens.unshift(eot);
  const base = { bosToken: text("tokenizer.ggml.bos_token_id"), eosToken: text("tokenizer.ggml.eos_token_id"), eogTokens };
  const own = f.meta<string>("tokenizer.chat_template");
  if (own) return { template: own, source: "gguf", ...base };
  if (!family) {
    throw new PipelineError("E_MODEL", `the model has no tokenizer.chat_template; set FINETUNE_MODEL_TYPE to one of ${TEMPLATE_FAMILIES.join(", ")}`, { file: f.path });
  }
  const p = presetTemplate(family);
  return { template: p.template, source: p.family, ...base };
}

const compiled = new Map<string, Template>();
export function renderChat(template: string, messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; bosToken?: string; eosToken?: string } = {}): string {
  let t = compiled.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (e) {
      throw new PipelineError("E_MODEL", `the chat template does not parse: ${(e as Error).message}`);
    }
    compiled.set(template, t);
  }
  try {
    return t.render({ messages, add_generation_prompt: opts.addGenerationPrompt ?? false, bos_token: opts.bosToken ?? "", eos_token: opts.eosToken ?? "" });
  } catch (e) {
    throw new PipelineError("E_MODEL", `the chat template failed to render: ${(e as Error).message}`);
  }
}

export function splitPromptAnswer(info: ChatTemplateInfo, messages: ChatMessage[]): { prompt: string; answer: string } {
  const last = messages.at(-1);
  if (!last || last.role !== "assistant") throw new PipelineError("E_TRAIN", "a training conversation must end with an assistant turn");
  const tok = { bosToken: info.bosToken, eosToken: info.eosToken };
  let prompt = renderChat(info.template, messages.slice(0, -1), { ...tok, addGenerationPrompt: true });
  let full = renderChat(info.template, messages, tok);
  if (info.bosToken && full.startsWith(info.bosToken)) {
    full = full.slice(info.bosToken.length);
    if (prompt.startsWith(info.bosToken)) prompt = prompt.slice(info.bosToken.length);
  }
  if (!full.startsWith(prompt)) {
    // Templates that rewrite earlier turns (e.g. strip reasoning) break the prefix property.
    throw new PipelineError("E_MODEL", `chat template (${info.source}) does not render the prompt as a prefix of the full conversation; set FINETUNE_MODEL_TYPE to use a preset template`);
  }
  return { prompt, answer: endAtTurnEnd(full.slice(prompt.length), info.eogTokens) };
}

/**
 * The answer up to and including its end-of-turn token. What a template renders after it is the scaffolding of a
 * turn the model never generates (Ollama stops at that token): Llama-3-Instruct's original template even appends
 * the next assistant header to every conversation, which would otherwise be trained as part of the answer.
 */
function endAtTurnEnd(answer: string, eogTokens: readonly string[]): string {
  let cut = -1;
  for (const t of eogTokens) {
    const i = answer.indexOf(t);
    if (i >= 0 && (cut < 0 || i + t.length < cut)) cut = i + t.length;
  }
  return cut < 0 ? answer : answer.slice(0, cut);
}

/** Ollama TEMPLATE and stops for this model's chat template. */
export function ollamaTemplateFor(info: ChatTemplateInfo, family?: string): OllamaTemplate {
  const src: TemplateSourceInfo = { chatTemplate: info.template, family, bosToken: info.bosToken, eosToken: info.eosToken, eogTokens: info.eogTokens };
  return ollamaFromInfo(src);
}
