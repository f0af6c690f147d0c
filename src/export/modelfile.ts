// Writes an Ollama Modelfile: FROM (merged GGUF, or base + ADAPTER), TEMPLATE, stop, num_ctx and other PARAMETERs,
// SYSTEM and LICENSE.
import { PipelineError } from "../errors.ts";
import type { OllamaTemplate } from "../chat/ollama-template.ts";

export interface ModelfileSpec {
  /** Path (relative to the Modelfile, e.g. ./model.gguf) or an Ollama model name. */
  from: string;
  /** LoRA adapter GGUF applied on top of FROM (the ADAPTER variant). */
  adapter?: string;
  template: OllamaTemplate;
  numCtx?: number;
  system?: string;
  /** Extra PARAMETER lines (temperature, top_p …), written after stop and num_ctx; an array gives one line per value. */
  parameters?: Record<string, string | number | boolean | Array<string | number>>;
  /** LICENSE texts (one LICENSE per text), e.g. the base model's from the Ollama store. */
  license?: string[];
  /** Comment lines at the top (provenance); never affects the model. */
  comments?: string[];
}

export function renderModelfile(spec: ModelfileSpec): string {
  const lines: string[] = [];
  for (const c of spec.comments ?? []) lines.push(`# ${c.replace(/\r?\n/g, " ")}`);
  lines.push(`FROM ${pathArg(spec.from, "FROM")}`);
  if (spec.adapter) lines.push(`ADAPTER ${pathArg(spec.adapter, "ADAPTER")}`);
  lines.push(`TEMPLATE ${tripleQuoted(spec.template.template, "TEMPLATE")}`);
  for (const s of spec.template.stop) lines.push(`PARAMETER stop ${quoted(s)}`);
  if (spec.numCtx !== undefined) lines.push(`PARAMETER num_ctx ${Math.trunc(spec.numCtx)}`);
  for (const [k, v] of Object.entries(spec.parameters ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) lines.push(`PARAMETER ${k} ${typeof x === "string" ? quoted(x) : String(x)}`);
  }
  const system = spec.system ?? spec.template.defaultSystem;
  if (system) lines.push(`SYSTEM ${tripleQuoted(system, "SYSTEM")}`);
  for (const l of spec.license ?? []) lines.push(`LICENSE ${tripleQuoted(l, "LICENSE")}`);
  return lines.join("\n") + "\n";
}

/** The same model as /api/create fields (what `ollama create` sends after reading the Modelfile). */
export function createParameters(spec: Pick<ModelfileSpec, "template" | "numCtx" | "parameters">): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (spec.template.stop.length) p.stop = [...spec.template.stop];
  if (spec.numCtx !== undefined) p.num_ctx = Math.trunc(spec.numCtx);
  Object.assign(p, spec.parameters ?? {});
  return p;
}

function pathArg(p: string, what: string): string {
  if (/[\r\n]/.test(p)) throw new PipelineError("E_EXPORT", `${what} path contains a newline: ${JSON.stringify(p)}`);
  return p;
}

function quoted(s: string): string {
  if (/[\r\n"]/.test(s)) throw new PipelineError("E_EXPORT", `Modelfile value cannot hold a newline or a double quote: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

function tripleQuoted(s: string, what: string): string {
  if (s.includes('"""')) throw new PipelineError("E_EXPORT", `${what} contains """ which a Modelfile cannot quote; remove it`);
  return `"""${s}"""`;
}
