// Re-encode a GGUF's tensors to any type we quantize (F32 … Q8_0, the K-quants, IQ4_NL/IQ4_XS) or to one of
// llama.cpp's K-quant mixes (Q4_K_M, Q5_K_M: quant-mix.ts), streaming tensor by tensor; metadata kept,
// general.file_type updated. Every tensor whose type changes is dequantized and re-quantized; a tensor of a
// type we cannot read is refused, never copied as it is.
import { PipelineError } from "../errors.ts";
import { openGguf } from "./reader.ts";
import { writeGguf, type GgufTensorInput } from "./writer.ts";
import { DEQUANT_TYPES, FILE_TYPE, QUANT_TYPES, type GgufValue, type WritableTensorType } from "./types.ts";
import { MIX_FILE_TYPE, mixTensorTypes } from "./quant-mix.ts";
import { targetTypeFor } from "./target-type.ts";

export { targetTypeFor } from "./target-type.ts";

/** A plain type (one for every matrix) or one of llama.cpp's mixes. */
export type ConvertTarget = WritableTensorType | "Q4_K_M" | "Q5_K_M";
const MIXES = ["Q4_K_M", "Q5_K_M"] as const;

export function parseTensorType(s: string): ConvertTarget {
  const t = s.toUpperCase() as ConvertTarget;
  const known = [...QUANT_TYPES, ...MIXES] as readonly string[];
  if (!known.includes(t)) throw new PipelineError("E_USAGE", `unknown --type "${s}"; use one of ${known.map((x) => x.toLowerCase()).join(", ")}`, { field: "type" });
  return t;
}

export interface ConvertResult {
  bytes: number;
  /** Tensors re-encoded (their type changed). */
  converted: number;
  /** Tensors already of their target type, copied byte for byte. */
  kept: number;
  /** Matrices written in a fallback type because their rows do not fit `type`'s block: type → count. */
  fallbacks: Partial<Record<WritableTensorType, number>>;
  /** Tensors of each type in the written file. */
  types: Record<string, number>;
}

export async function convertGguf(inPath: string, outPath: string, type: ConvertTarget): Promise<ConvertResult> {
  const f = await openGguf(inPath);
  try {
    const metadata = new Map<string, GgufValue>(f.metadata);
    const mix = type === "Q4_K_M" || type === "Q5_K_M" ? type : undefined;
    metadata.set("general.file_type", { type: "u32", value: mix ? MIX_FILE_TYPE[mix] : FILE_TYPE[type as WritableTensorType] });
    const arch = String(f.meta("general.architecture") ?? "");
    const mixTypes = mix ? mixTensorTypes(f.tensors, mix, Number(f.meta(`${arch}.block_count`) ?? 0)) : undefined;
    const r: Omit<ConvertResult, "bytes"> = { converted: 0, kept: 0, fallbacks: {}, types: {} };
    const tensors: GgufTensorInput[] = f.tensors.map((t) => {
      // In a mix, tensors llama-quantize leaves alone (norms, 1-D) keep their type.
      const target = mixTypes ? mixTypes.get(t.name) ?? (t.type as WritableTensorType) : targetTypeFor(t.dims, type as WritableTensorType);
      if (!mixTypes && t.dims.length >= 2 && target !== type) r.fallbacks[target] = (r.fallbacks[target] ?? 0) + 1;
      r.types[target] = (r.types[target] ?? 0) + 1;
      if (t.type === target) {
        r.kept++;
        return { name: t.name, dims: t.dims, type: t.type, raw: () => f.readTensorRaw(t.name) };
      }
      if (!DEQUANT_TYPES.includes(t.type)) {
        throw new PipelineError("E_GGUF", `tensor "${t.name}" is ${t.type}, which cannot be converted (readable: ${DEQUANT_TYPES.join(", ")}); start from an f16 or q8_0 file of this model`, { file: inPath });
      }
      r.converted++;
      return { name: t.name, dims: t.dims, type: target, data: () => f.readTensorF32(t.name) };
    });
    const { bytes } = await writeGguf(outPath, { metadata, tensors });
    return { bytes, ...r };
  } finally {
    await f.close();
  }
}
