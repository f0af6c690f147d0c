// The Ollama side of a chat template: the Go TEMPLATE and the stop strings that match the model's own
// jinja chat template and end tokens, so a prompt in Ollama looks exactly like a prompt in training.
import { convertGGUFTemplateToOllama } from "@huggingface/ollama-utils";
import { Template } from "@huggingface/jinja";
import { PipelineError } from "../errors.ts";
import { renderGoChat, renderGoPrompt, usesMessages, type GoChatMessage } from "./go-template.ts";

/** The template families we know how to write without help from the model file. */
export const TEMPLATE_FAMILIES = ["llama2", "llama3", "mistral", "chatml", "gemma", "phi3", "alpaca"] as const;
export type TemplateFamily = (typeof TEMPLATE_FAMILIES)[number];

export interface OllamaTemplate {
  /** Go template text for Modelfile TEMPLATE / the `template` field of /api/create. */
  template: string;
  /** Stop strings, in a stable order (template's own markers first, then end tokens). */
  stop: string[];
  /** Where the mapping came from, for reports: a family name, or "gguf" when converted from jinja. */
  source: string;
  /** True when the Go template was checked to give the jinja template's own prompt for a probe conversation. */
  verified: boolean;
  /** True when it was also checked on a multi-turn conversation (system, user, assistant, user). */
  verifiedMultiTurn?: boolean;
  /** A system prompt the jinja template inserts when the conversation has none (Qwen's "You are Qwen…"):
   * the Modelfile's SYSTEM default, so Ollama's prompt matches without a user-given system prompt. */
  defaultSystem?: string;
}

export interface TemplateSourceInfo {
  /** `tokenizer.chat_template` from the GGUF, when the model has one. */
  chatTemplate?: string;
  /** FINETUNE_MODEL_TYPE or a family detected elsewhere; used when there is no jinja template. */
  family?: string;
  bosToken?: string;
  eosToken?: string;
  /** End-of-generation token texts besides eos (e.g. <|eot_id|>, <|im_end|>, <end_of_turn>). */
  eogTokens?: string[];
}

/** Aliases users type for FINETUNE_MODEL_TYPE. */
const FAMILY_ALIASES: Record<string, TemplateFamily> = {
  llama: "llama2", llama2: "llama2", "llama-2": "llama2",
  llama3: "llama3", "llama-3": "llama3", "llama3.1": "llama3", "llama3.2": "llama3",
  mistral: "mistral", mixtral: "mistral",
  chatml: "chatml", qwen: "chatml", qwen2: "chatml", "qwen2.5": "chatml", qwen3: "chatml", smollm: "chatml", tiny: "chatml",
  gemma: "gemma", gemma2: "gemma", gemma3: "gemma",
  phi3: "phi3", "phi-3": "phi3", phi: "phi3",
  alpaca: "alpaca",
};

export function normalizeFamily(name: string): TemplateFamily | undefined {
  return FAMILY_ALIASES[name.trim().toLowerCase()];
}

/** Ollama's own library templates for each family (what `ollama show --template` prints for them). */
const FAMILY_TEMPLATES: Record<TemplateFamily, { template: string; stop: string[] }> = {
  llama2: {
    // As Meta's jinja template writes it (Ollama's library copy drops the newlines around <<SYS>>).
    template: "[INST] {{ if .System }}<<SYS>>\n{{ .System }}\n<</SYS>>\n\n{{ end }}{{ .Prompt }} [/INST]",
    stop: ["[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"],
  },
  // llama3, chatml and phi3 in the .Messages form Ollama's library uses today (one turn per message, the system
  // prompt as the first message, as Ollama puts a Modelfile SYSTEM there): multi-turn chats render as in training.
  // The other families fold the system prompt or BOS into turns in ways the subset cannot say; they keep the
  // .Prompt/.Response form, which Ollama runs once per exchange.
  llama3: {
    template:
      "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
    stop: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
  },
  mistral: {
    template: "[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]",
    stop: ["[INST]", "[/INST]"],
  },
  chatml: {
    template: "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
    stop: ["<|im_start|>", "<|im_end|>"],
  },
  gemma: {
    template:
      "<start_of_turn>user\n{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}<end_of_turn>\n<start_of_turn>model\n{{ .Response }}<end_of_turn>\n",
    stop: ["<start_of_turn>", "<end_of_turn>"],
  },
  phi3: {
    template: "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n",
    stop: ["<|end|>", "<|user|>", "<|assistant|>"],
  },
  alpaca: {
    template: "{{ if .System }}{{ .System }}\n\n{{ end }}### Instruction:\n{{ .Prompt }}\n\n### Response:\n{{ .Response }}",
    stop: ["### Instruction:", "### Response:"],
  },
};

/** Markers that identify a family inside a jinja template, checked in this order. */
const FAMILY_MARKERS: Array<[TemplateFamily, RegExp]> = [
  ["llama3", /<\|start_header_id\|>/],
  ["chatml", /<\|im_start\|>/],
  ["gemma", /<start_of_turn>/],
  ["phi3", /<\|assistant\|>/],
  ["llama2", /<<SYS>>/],
  ["mistral", /\[INST\]/],
  ["alpaca", /### Instruction/],
];

export function detectFamily(chatTemplate: string): TemplateFamily | undefined {
  return FAMILY_MARKERS.find(([, re]) => re.test(chatTemplate))?.[0];
}

export function familyTemplate(family: TemplateFamily): { template: string; stop: string[] } {
  const t = FAMILY_TEMPLATES[family];
  return { template: t.template, stop: [...t.stop] };
}

/** The probe conversation both templates render: a system prompt and one user turn. */
export const PROBE = { system: "You answer from the documents.", prompt: "What is the warranty period?" };

/**
 * The Ollama TEMPLATE and stops for a model. Candidates: the model's own jinja template converted by
 * @huggingface/ollama-utils (it knows Ollama's library mappings, but matches loosely), and the family
 * the jinja template's markers reveal (or the configured family). The first candidate whose prompt for
 * a probe conversation equals the jinja template's own rendering wins; otherwise the first whose special
 * markers all occur in the jinja template. End tokens are always added as stops.
 */
export function ollamaTemplateFor(info: TemplateSourceInfo): OllamaTemplate {
  const candidates: Array<{ template: string; stop: string[]; source: string }> = [];
  if (info.chatTemplate) {
    const converted = safeConvert(info);
    if (converted) candidates.push({ template: converted.ollama.template, stop: [...(converted.ollama.params?.stop ?? [])], source: "gguf" });
    const fam = detectFamily(info.chatTemplate);
    if (fam) candidates.push({ ...familyTemplate(fam), source: fam });
  }
  if (info.family) {
    const fam = normalizeFamily(info.family);
    if (!fam) {
      throw new PipelineError("E_CONFIG", `unknown chat template family "${info.family}"; use one of ${TEMPLATE_FAMILIES.join(", ")}`, { field: "FINETUNE_MODEL_TYPE" });
    }
    candidates.push({ ...familyTemplate(fam), source: fam });
  }
  if (!candidates.length) {
    throw new PipelineError("E_MODEL", `cannot derive an Ollama TEMPLATE: the model has no usable tokenizer.chat_template and no family is set; set FINETUNE_MODEL_TYPE to one of ${TEMPLATE_FAMILIES.join(", ")}`);
  }
  let chosen = candidates[0]!;
  let verified = false;
  let verifiedMultiTurn = false;
  if (info.chatTemplate) {
    // A template that also renders a multi-turn chat as the jinja does wins over one that only gets one turn right,
    // and among those the .Messages form (what Ollama's library uses today) over the .Prompt/.Response one.
    const exact = candidates.filter((c) => templatesAgree(c.template, info));
    const multiAll = exact.filter((c) => multiTurnAgrees(c.template, info));
    const multi = multiAll.find((c) => usesMessages(c.template)) ?? multiAll[0];
    const plausible = candidates.find((c) => markersIn(c.template, info));
    chosen = multi ?? exact[0] ?? plausible ?? chosen;
    verified = exact.length > 0;
    verifiedMultiTurn = !!multi;
  }
  // The end tokens the model was trained to emit must stop generation even when the mapping forgot them
  // (Ollama's qwen2.5 mapping, for one, lists no stops at all).
  const ends = [info.eosToken, ...(info.eogTokens ?? [])].filter((t): t is string => !!t && t !== info.bosToken);
  const defaultSystem = verified ? defaultSystemPrompt(chosen.template, info) : undefined;
  return {
    template: chosen.template, stop: dedupe([...chosen.stop, ...ends]).filter(isWritableStop), source: chosen.source, verified,
    ...(verifiedMultiTurn ? { verifiedMultiTurn } : {}), ...(defaultSystem ? { defaultSystem } : {}),
  };
}

/** The multi-turn probe: an earlier exchange, then the question. */
export const PROBE_TURNS = [
  { role: "user", content: "Who pays for return shipping?" },
  { role: "assistant", content: "The seller pays for return shipping." },
  { role: "user", content: PROBE.prompt },
];

/** The jinja template's own prompt for the probe (generation prompt added, leading BOS dropped as llama.cpp adds it). */
export function jinjaProbePrompt(info: TemplateSourceInfo, withSystem: boolean): string | undefined {
  return jinjaPrompt(info, [...(withSystem ? [{ role: "system", content: PROBE.system }] : []), { role: "user", content: PROBE.prompt }]);
}

/** The jinja template's prompt for `messages` (generation prompt added, leading BOS dropped), or undefined if it raises. */
export function jinjaPrompt(info: TemplateSourceInfo, messages: GoChatMessage[]): string | undefined {
  if (!info.chatTemplate) return undefined;
  try {
    let out = new Template(info.chatTemplate).render({ messages, add_generation_prompt: true, bos_token: info.bosToken ?? "", eos_token: info.eosToken ?? "" });
    if (info.bosToken && out.startsWith(info.bosToken)) out = out.slice(info.bosToken.length);
    return out;
  } catch {
    return undefined; // e.g. a template that raises on a system message
  }
}

/** Does the Go template render the multi-turn probe (with a system turn if the jinja allows one) as the jinja does? */
export function multiTurnAgrees(goTemplate: string, info: TemplateSourceInfo): boolean {
  for (const withSystem of [true, false]) {
    const messages = [...(withSystem ? [{ role: "system", content: PROBE.system }] : []), ...PROBE_TURNS];
    const want = jinjaPrompt(info, messages);
    if (want === undefined) continue;
    const got = renderGoChat(goTemplate, messages);
    return got !== undefined && got.trim() === want.trim();
  }
  return false;
}

/** Does the Go template give the same prompt as the jinja template (with a system turn if the jinja allows one)? */
export function templatesAgree(goTemplate: string, info: TemplateSourceInfo): boolean {
  for (const withSystem of [true, false]) {
    const want = jinjaProbePrompt(info, withSystem);
    if (want === undefined) continue;
    const got = renderGoPrompt(goTemplate, withSystem ? { System: PROBE.system, Prompt: PROBE.prompt } : { Prompt: PROBE.prompt });
    return got !== undefined && got.trim() === want.trim();
  }
  return false;
}

/** The system text S such that the jinja prompt for a user-only turn equals the Go prompt with System = S. */
export function defaultSystemPrompt(goTemplate: string, info: TemplateSourceInfo): string | undefined {
  const want = jinjaProbePrompt(info, false);
  const plain = renderGoPrompt(goTemplate, { Prompt: PROBE.prompt });
  if (want === undefined || plain === undefined || plain.trim() === want.trim()) return undefined;
  const marker = "\u0001SYSTEM\u0001";
  const withMarker = renderGoPrompt(goTemplate, { System: marker, Prompt: PROBE.prompt });
  if (!withMarker) return undefined;
  const [head, tail] = withMarker.split(marker) as [string, string];
  const w = want.trimEnd();
  const t = tail.trimEnd();
  if (!w.startsWith(head) || !w.endsWith(t) || w.length < head.length + t.length) return undefined;
  const system = w.slice(head.length, w.length - t.length);
  return system && !system.includes(PROBE.prompt) ? system : undefined;
}

const RE_SPECIAL = /<[|_A-Za-z0-9]+>|\[[A-Z]+\]|<<SYS>>|### [A-Za-z]+:/g;
function markersIn(goTemplate: string, info: TemplateSourceInfo): boolean {
  const jinja = info.chatTemplate ?? "";
  const markers = (goTemplate.match(RE_SPECIAL) ?? []).filter((m) => m !== info.bosToken && m !== info.eosToken);
  return markers.length > 0 && markers.every((m) => jinja.includes(m));
}

function safeConvert(info: TemplateSourceInfo) {
  try {
    return convertGGUFTemplateToOllama({ chat_template: info.chatTemplate!, bos_token: info.bosToken, eos_token: info.eosToken });
  } catch {
    return undefined; // a template @huggingface/jinja cannot parse: fall back to marker detection
  }
}

/** A Modelfile PARAMETER line cannot carry a newline or an unescaped quote. */
function isWritableStop(s: string): boolean {
  return s.length > 0 && !/[\n\r"]/.test(s);
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}
