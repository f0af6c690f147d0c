// Folds a GGUF LoRA adapter into its base model: W' = W + (alpha / rank) · B·A for every adapted weight,
// written as a new GGUF (f32, f16, q8_0, or llama.cpp's q4_k_m / q5_k_m / q6_k mixes) that keeps the base's
// tokenizer, chat template and metadata.
//
// LoRA GGUF layout (llama.cpp's, what `llama-export-lora`/Ollama ADAPTER read): for a weight with GGUF dims
// [in, out], `<name>.lora_a` has dims [in, r] and `<name>.lora_b` has dims [r, out]; general.type = "adapter",
// adapter.type = "lora", adapter.lora.alpha (f32; 0 or absent means scale 1).
import { PipelineError } from "../errors.ts";
import { openGguf } from "../gguf/reader.ts";
import { GGML_BLOCK, type GgmlTypeName, type GgufFile, type GgufTensorInfo, type GgufValue } from "../gguf/types.ts";
import { MIX_FILE_TYPE, mixTensorTypes, type QuantMix } from "../gguf/quant-mix.ts";
import { writeLoraAdapterGguf } from "../gguf/lora-adapter.ts";
import { writeGguf, type GgufTensorInput } from "../gguf/writer.ts";

export const EXPORT_QUANTS = ["f32", "f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k"] as const;
export type ExportQuant = (typeof EXPORT_QUANTS)[number];

/** llama.cpp's llama_ftype numbers for general.file_type. */
const FILE_TYPE: Record<ExportQuant, number> = { f32: 0, f16: 1, q8_0: 7, q4_k_m: MIX_FILE_TYPE.Q4_K_M, q5_k_m: MIX_FILE_TYPE.Q5_K_M, q6_k: MIX_FILE_TYPE.Q6_K };
const MIX: Partial<Record<ExportQuant, QuantMix>> = { q4_k_m: "Q4_K_M", q5_k_m: "Q5_K_M", q6_k: "Q6_K" };

const bytesPerValue = (t: GgmlTypeName): number => GGML_BLOCK[t][1] / GGML_BLOCK[t][0];

export interface LoraPair { target: string; a: GgufTensorInfo; b: GgufTensorInfo; rank: number }

export interface LoraAdapter {
  file: GgufFile;
  arch: string;
  alpha: number;
  pairs: LoraPair[];
}

export async function openLoraAdapter(path: string): Promise<LoraAdapter> {
  const file = await openGguf(path);
  try {
    const type = file.meta<string>("general.type");
    const adapterType = file.meta<string>("adapter.type");
    if (type !== "adapter" || adapterType !== "lora") {
      throw new PipelineError("E_EXPORT", `not a LoRA adapter GGUF: general.type is ${JSON.stringify(type)} and adapter.type is ${JSON.stringify(adapterType)} (want "adapter" and "lora")`, { file: path });
    }
    const pairs: LoraPair[] = [];
    for (const t of file.tensors) {
      if (!t.name.endsWith(".lora_a")) continue;
      const target = t.name.slice(0, -".lora_a".length);
      const b = file.tensor(`${target}.lora_b`);
      if (!b) throw new PipelineError("E_EXPORT", `adapter tensor ${t.name} has no matching ${target}.lora_b`, { file: path });
      if (t.dims[1] !== b.dims[0]) {
        throw new PipelineError("E_EXPORT", `${target}: lora_a dims [${t.dims}] and lora_b dims [${b.dims}] disagree on the rank (want a=[in, r], b=[r, out])`, { file: path });
      }
      pairs.push({ target, a: t, b, rank: t.dims[1]! });
    }
    if (!pairs.length) throw new PipelineError("E_EXPORT", `LoRA adapter has no *.lora_a / *.lora_b tensors`, { file: path });
    return { file, arch: String(file.meta("general.architecture") ?? ""), alpha: Number(file.meta("adapter.lora.alpha") ?? 0), pairs };
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** llama.cpp's scale: alpha / rank, or 1 when alpha is 0. */
export function loraScale(alpha: number, rank: number, userScale = 1): number {
  return alpha ? (userScale * alpha) / rank : userScale;
}

/** W (GGUF dims [in, out], row o at o*in) += scale · B·A, with A dims [in, r] and B dims [r, out]. */
export function applyLoraDelta(w: Float32Array, a: Float32Array, b: Float32Array, inDim: number, outDim: number, rank: number, scale: number): void {
  const row = new Float32Array(inDim);
  for (let o = 0; o < outDim; o++) {
    row.fill(0);
    for (let r = 0; r < rank; r++) {
      const coef = b[o * rank + r]! * scale;
      if (coef === 0) continue;
      const aOff = r * inDim;
      for (let i = 0; i < inDim; i++) row[i]! += coef * a[aOff + i]!;
    }
    const wOff = o * inDim;
    for (let i = 0; i < inDim; i++) w[wOff + i]! += row[i]!;
  }
}

export interface MergeOptions {
  basePath: string;
  /** Omit to re-export the base itself (a `tiny` model trained in full has no adapter). */
  adapterPath?: string;
  outPath: string;
  quant: ExportQuant;
  /** Metadata to add or replace (provenance, general.name). */
  extraMetadata?: Record<string, GgufValue | string | number | boolean>;
  /** Re-write quantized base matrices at `quant` too (the all-float twin verify compares against); default: copy them. */
  dequantize?: boolean;
}

export interface MergeResult { outPath: string; merged: string[]; bytes: number; tensorTypes: Record<string, string> }

const FLOAT_TYPES = new Set(["F32", "F16", "BF16"]);

export async function mergeToGguf(o: MergeOptions): Promise<MergeResult> {
  const base = await openGguf(o.basePath);
  const adapter = o.adapterPath ? await openLoraAdapter(o.adapterPath) : undefined;
  try {
    const baseArch = String(base.meta("general.architecture") ?? "");
    if (adapter && adapter.arch && adapter.arch !== baseArch) {
      throw new PipelineError("E_EXPORT", `adapter is for architecture "${adapter.arch}" but the base model is "${baseArch}"; pass the base the adapter was trained on`, { file: o.adapterPath });
    }
    const byTarget = new Map((adapter?.pairs ?? []).map((p) => [p.target, p]));
    for (const p of byTarget.values()) {
      const w = base.tensor(p.target);
      if (!w) throw new PipelineError("E_EXPORT", `adapter adapts ${p.target}, which the base model does not have; wrong base model?`, { file: o.adapterPath });
      if (w.dims[0] !== p.a.dims[0] || w.dims[1] !== p.b.dims[1]) {
        throw new PipelineError("E_EXPORT", `${p.target}: base dims [${w.dims}] do not fit adapter a=[${p.a.dims}] b=[${p.b.dims}]; wrong base model?`, { file: o.adapterPath });
      }
    }
    const target = o.quant === "q8_0" ? "Q8_0" : o.quant === "f16" ? "F16" : "F32";
    // A mix (q4_k_m …) types each tensor as llama-quantize would (gguf/quant-mix.ts), fallbacks included.
    const mix = MIX[o.quant];
    const mixTypes = mix && !o.dequantize ? mixTensorTypes(base.tensors, mix, Number(base.meta(`${baseArch}.block_count`) ?? 0)) : undefined;
    const tensorTypes: Record<string, string> = {};
    const tensors: GgufTensorInput[] = base.tensors.map((t) => {
      const pair = byTarget.get(t.name);
      // Norms and other 1-D tensors stay as they are (llama.cpp keeps them f32); weights whose rows do not
      // split into Q8_0 blocks fall back to f16.
      const matrix = t.dims.length >= 2;
      const outType: GgmlTypeName = mixTypes ? mixTypes.get(t.name) ?? t.type
        : !matrix ? t.type : target === "Q8_0" && t.dims[0]! % 32 !== 0 ? "F16" : target;
      tensorTypes[t.name] = outType;
      // A base matrix already quantized is copied unless the export asks for a smaller type (q4_k_m from a
      // q8_0 base): re-quantizing to a larger type adds bytes, not precision.
      const keepQuantized = !FLOAT_TYPES.has(t.type) && !o.dequantize && bytesPerValue(outType) >= bytesPerValue(t.type);
      if (!pair && (!matrix || keepQuantized || outType === t.type)) {
        tensorTypes[t.name] = t.type;
        return { name: t.name, dims: t.dims, type: t.type, raw: () => base.readTensorRaw(t.name) };
      }
      return {
        name: t.name, dims: t.dims, type: outType,
        data: async () => {
          const w = await base.readTensorF32(t.name);
          if (pair) {
            const [a, b] = [await adapter!.file.readTensorF32(pair.a.name), await adapter!.file.readTensorF32(pair.b.name)];
            applyLoraDelta(w, a, b, t.dims[0]!, t.dims[1]!, pair.rank, loraScale(adapter!.alpha, pair.rank));
          }
          return w;
        },
      };
    });
    const metadata = new Map<string, GgufValue | string | number | boolean>(base.metadata);
    metadata.set("general.file_type", { type: "u32", value: FILE_TYPE[o.quant] });
    for (const [k, v] of Object.entries(o.extraMetadata ?? {})) metadata.set(k, v);
    const { bytes } = await writeGguf(o.outPath, { metadata, tensors });
    return { outPath: o.outPath, merged: [...byTarget.keys()], bytes, tensorTypes };
  } finally {
    await base.close();
    await adapter?.file.close();
  }
}

/**
 * Re-writes an adapter as the GGUF LoRA file llama.cpp and Ollama's ADAPTER accept: the metadata they check
 * (general.architecture of the base, general.type, adapter.type, adapter.lora.alpha as f32) and f32 tensors.
 */
export async function writeLoraAdapter(adapterPath: string, outPath: string, o: { arch: string; extraMetadata?: Record<string, GgufValue | string | number | boolean> }): Promise<{ bytes: number }> {
  const adapter = await openLoraAdapter(adapterPath);
  try {
    return await writeLoraAdapterGguf(outPath, {
      arch: o.arch, alpha: adapter.alpha,
      metadata: [...adapter.file.metadata, ...Object.entries(o.extraMetadata ?? {})],
      tensors: adapter.file.tensors.map((t) => ({ name: t.name, dims: t.dims, data: () => adapter.file.readTensorF32(t.name) })),
    });
  } finally {
    await adapter.file.close();
  }
}
