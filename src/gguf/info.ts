// A readable (and a JSON) summary of a GGUF file: architecture, sizes, metadata, tensors, chat template.
import { stat } from "node:fs/promises";
import { openGguf, plainValue } from "./reader.ts";
import type { GgufValue } from "./types.ts";

export interface GgufInfo {
  path: string;
  fileBytes: number;
  version: number;
  architecture?: string;
  name?: string;
  parameters: number;
  tensorTypes: Record<string, number>;
  hyperparameters: Record<string, unknown>;
  metadata: Record<string, { type: string; value: unknown }>;
  tensors: Array<{ name: string; type: string; dims: number[]; bytes: number }>;
  chatTemplate?: string;
}

/** Long arrays (vocabularies) are summarised: type, length and the first few items. */
function summarise(v: GgufValue): { type: string; value: unknown } {
  const type = v.type === "array" ? `array<${v.itemType}>` : v.type;
  if (v.type === "array" && v.value.length > 8) return { type, value: { length: v.value.length, first: (v.value as unknown[]).slice(0, 5).map((x) => (typeof x === "object" ? plainValue(x as GgufValue) : x)) } };
  const value = plainValue(v);
  if (v.type === "f32") return { type, value: Number((value as number).toPrecision(7)) }; // f32 shown as written, not its f64 expansion
  return { type, value: typeof value === "bigint" ? value.toString() : value };
}

export async function ggufInfo(path: string): Promise<GgufInfo> {
  const f = await openGguf(path);
  try {
    const arch = f.meta<string>("general.architecture");
    const hyper: Record<string, unknown> = {};
    const metadata: GgufInfo["metadata"] = {};
    for (const [k, v] of f.metadata) {
      if (k === "tokenizer.chat_template") continue;
      metadata[k] = summarise(v);
      if (arch && k.startsWith(`${arch}.`)) hyper[k.slice(arch.length + 1)] = summarise(v).value;
    }
    const tensorTypes: Record<string, number> = {};
    for (const t of f.tensors) tensorTypes[t.type] = (tensorTypes[t.type] ?? 0) + 1;
    return {
      path, fileBytes: (await stat(path)).size, version: f.version, architecture: arch, name: f.meta<string>("general.name"),
      parameters: f.tensors.reduce((a, t) => a + t.elements, 0), tensorTypes, hyperparameters: hyper, metadata,
      tensors: f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, bytes: t.byteLength })),
      chatTemplate: f.meta<string>("tokenizer.chat_template"),
    };
  } finally {
    await f.close();
  }
}

const human = (n: number, unit = "") => {
  const units = ["", "K", "M", "G", "T"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(2) : n}${units[i]}${unit}`;
};

/** `trainable`: the preflight verdict line ("yes" or "no — <reason>"), decided by the caller (model/preflight.ts). */
export function formatGgufInfo(i: GgufInfo, opts: { allTensors?: boolean; trainable?: string } = {}): string {
  const lines: string[] = [];
  lines.push(`file          ${i.path}`);
  lines.push(`size          ${human(i.fileBytes, "B")} (${i.fileBytes} bytes), GGUF v${i.version}`);
  lines.push(`architecture  ${i.architecture ?? "(none)"}`);
  if (i.name) lines.push(`name          ${i.name}`);
  lines.push(`parameters    ${human(i.parameters)} (${i.parameters})`);
  lines.push(`tensor types  ${Object.entries(i.tensorTypes).map(([t, n]) => `${t}×${n}`).join(" ")}`);
  if (opts.trainable !== undefined) lines.push(`trainable: ${opts.trainable}`);
  if (Object.keys(i.hyperparameters).length) {
    lines.push("", "hyperparameters");
    for (const [k, v] of Object.entries(i.hyperparameters)) lines.push(`  ${k.padEnd(36)} ${JSON.stringify(v)}`);
  }
  lines.push("", "metadata");
  for (const [k, { type, value }] of Object.entries(i.metadata)) lines.push(`  ${k.padEnd(40)} ${type.padEnd(14)} ${JSON.stringify(value)}`);
  lines.push("", `tensors (${i.tensors.length})`);
  const shown = opts.allTensors || i.tensors.length <= 40 ? i.tensors : [...i.tensors.slice(0, 20), undefined, ...i.tensors.slice(-10)];
  for (const t of shown) {
    if (!t) { lines.push(`  … ${i.tensors.length - 30} more (--all-tensors to list them)`); continue; }
    lines.push(`  ${t.name.padEnd(36)} ${t.type.padEnd(6)} [${t.dims.join(", ")}]`.padEnd(72) + ` ${human(t.bytes, "B")}`);
  }
  lines.push("", "chat template");
  lines.push(i.chatTemplate ? i.chatTemplate.split("\n").map((l) => `  ${l}`).join("\n") : "  (none; set FINETUNE_MODEL_TYPE when fine-tuning this model)");
  return lines.join("\n") + "\n";
}
