// The model card (README.md beside model.gguf): what the model is, where it came from, how it trained,
// how it scored, that it was verified, and the two commands that run it in Ollama.
import { basename } from "node:path";
import { mdCode, mdText, yamlString } from "../sinks/markdown.ts";
import { evalMarkdown, type EvalReport } from "./eval.ts";
import { verifyMarkdown, type VerifyReport } from "./verify.ts";

export interface ModelCardInput {
  name: string;
  baseModel: string;
  architecture: string;
  quant: string;
  parameters?: number;
  datasetPath?: string;
  datasetSha256?: string;
  createdAt: string;
  files: Array<{ file: string; what: string }>;
  /** Where the jinja chat template came from. */
  chatTemplate: string;
  /** How the Ollama TEMPLATE was derived and whether it was checked. */
  templateSource: string;
  report?: Record<string, unknown>;
  pictures?: string[];
  eval?: EvalReport;
  verify?: VerifyReport;
  runCommands: string[];
  /** The base's Hugging Face id (from its GGUF metadata), for `base_model:`. */
  hfBaseModel?: string;
  /** The base's license: an identifier (apache-2.0, llama3.1…) or a license text. */
  license?: string;
  /** The dataset's Hugging Face id, when it is published there. */
  datasetId?: string;
  /** True when the PEFT adapter is in the folder (then `library_name: peft`, else gguf). */
  peft?: boolean;
}

/**
 * Hugging Face front matter (https://huggingface.co/docs/hub/model-cards#model-card-metadata): license (an id,
 * or `other` + license_name/license_link to the LICENSE text), base_model (+ base_model_relation: finetune, the
 * merged model.gguf being the main file), datasets, tags, pipeline_tag and library_name, so the Hub lists the
 * model under its base.
 */
export function modelCardFrontMatter(c: ModelCardInput): string {
  const lines = ["---"];
  if (c.license) {
    if (/^[a-z0-9][a-z0-9.+-]{0,63}$/i.test(c.license)) lines.push(`license: ${c.license.toLowerCase()}`);
    else lines.push("license: other", "license_name: base-model-license", "license_link: LICENSE");
  }
  if (c.hfBaseModel) lines.push("base_model:", `- ${yamlString(c.hfBaseModel)}`, "base_model_relation: finetune");
  if (c.datasetId) lines.push("datasets:", `- ${yamlString(c.datasetId)}`);
  lines.push("tags:", "- docs2model", "- gguf", "- ollama", "- lora", "pipeline_tag: text-generation", `library_name: ${c.peft ? "peft" : "gguf"}`, "---", "");
  return lines.join("\n");
}

export function modelCard(c: ModelCardInput): string {
  const out: string[] = [modelCardFrontMatter(c)];
  out.push(`# ${mdText(c.name)}`, "");
  out.push(`Fine-tuned from **${mdText(c.baseModel)}** (${mdText(c.architecture)}${c.parameters ? `, ${formatCount(c.parameters)} parameters` : ""}) on question–answer pairs generated from your documents, exported as GGUF (${c.quant}) for Ollama and llama.cpp.`, "");
  out.push("## Run it", "", "```sh", ...c.runCommands, "```", "");
  out.push("## Files", "", "| file | what |", "|---|---|", ...c.files.map((f) => `| ${mdCode(f.file)} | ${f.what} |`), "");
  out.push("## Provenance", "");
  out.push(`- base model: ${mdText(c.baseModel)}`);
  if (c.datasetPath) out.push(`- dataset: ${mdCode(c.datasetPath)}${c.datasetSha256 ? ` (sha256 \`${c.datasetSha256}\`)` : ""}`);
  out.push(`- exported: ${c.createdAt}`);
  out.push(`- chat template: ${c.chatTemplate}`);
  out.push(`- Ollama TEMPLATE: ${c.templateSource}`, "");
  if (c.report) {
    out.push("## Training report", "");
    const rows = flatten(c.report).filter(([, v]) => String(v).length <= 120).slice(0, 40);
    if (rows.length) out.push("| item | value |", "|---|---|", ...rows.map(([k, v]) => `| ${mdText(k)} | ${mdText(String(v))} |`));
    for (const p of c.pictures ?? []) out.push("", `![loss curve](<${basename(p).replace(/[<>\n]/g, "")}>)`);
    out.push("");
  }
  out.push("## Evaluation", "", c.eval ? evalMarkdown(c.eval) : "_Not run._\n");
  out.push("## Verification (llama.cpp)", "", c.verify ? verifyMarkdown(c.verify) : "_Not run._\n");
  return out.join("\n");
}

function flatten(o: Record<string, unknown>, prefix = ""): Array<[string, unknown]> {
  const rows: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length <= 8 && v.every((x) => typeof x !== "object")) rows.push([key, v.join(", ")]);
      else rows.push([key, `${v.length} entries`]);
    } else if (typeof v === "object") rows.push(...flatten(v as Record<string, unknown>, key));
    else rows.push([key, typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v]);
  }
  return rows;
}

function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}K` : String(n);
}
