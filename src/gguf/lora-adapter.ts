// The GGUF LoRA adapter as llama.cpp (`--lora`) and Ollama (`ADAPTER`) load it: the metadata they check and f32 tensors.
//
// general.architecture of the base, general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32);
// for each adapted weight W (GGUF dims [in, out]) `W.lora_a` dims [in, r] and `W.lora_b` dims [r, out]; scale = alpha / r.
import type { GgufValue } from "./types.ts";
import { writeGguf, type GgufTensorInput } from "./writer.ts";

export interface LoraAdapterGguf {
  arch: string;
  alpha: number;
  /** lora_a / lora_b pairs, f32 (data as an array or read lazily). */
  tensors: Array<{ name: string; dims: number[]; data: Float32Array | (() => Promise<Float32Array>) }>;
  /** Keys kept beside the required ones (a re-written adapter's own metadata, provenance); the required ones win. */
  metadata?: Iterable<[string, GgufValue | string | number | boolean]>;
}

export async function writeLoraAdapterGguf(path: string, a: LoraAdapterGguf): Promise<{ bytes: number }> {
  const metadata = new Map<string, GgufValue | string | number | boolean>(a.metadata ?? []);
  metadata.set("general.architecture", { type: "string", value: a.arch });
  metadata.set("general.type", { type: "string", value: "adapter" });
  metadata.set("adapter.type", { type: "string", value: "lora" });
  metadata.set("adapter.lora.alpha", { type: "f32", value: a.alpha });
  const tensors: GgufTensorInput[] = a.tensors.map((t) => ({ name: t.name, dims: t.dims, type: "F32", data: t.data }));
  return writeGguf(path, { metadata, tensors });
}
