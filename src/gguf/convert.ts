// Re-encode a GGUF's tensors to any type we quantize (F32 … Q8_0, the K-quants, IQ4_NL/IQ4_XS), streaming
// tensor by tensor; metadata kept, general.file_type updated. Every tensor whose type changes is
// dequantized and re-quantized; a tensor of a type we cannot read is refused, never copied as it is.
import { PipelineError } from "../errors.ts";
import { openGguf } from "./reader.ts";
import { writeGguf, type GgufTensorInput } from "./writer.ts";
import { DEQUANT_TYPES, FILE_TYPE, GGML_BLOCK, QUANT_TYPES, type GgufValue, type WritableTensorType } from "./types.ts";

export function parseTensorType(s: string): WritableTensorType {
  const t = s.toUpperCase() as WritableTensorType;
  if (!(QUANT_TYPES as readonly string[]).includes(t)) throw new PipelineError("E_USAGE", `unknown --type "${s}"; use one of ${QUANT_TYPES.map((x) => x.toLowerCase()).join(", ")}`, { field: "type" });
  return t;
}

/**
 * llama.cpp's quantizer (llama-quant.cpp, tensor_type_fallback) for a matrix whose rows are not a multiple
 * of the type's 256-value block: IQ4_XS → IQ4_NL, Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0;
 * F16 when even that block (32) does not fit. This is why qwen2.5:0.5b (896 wide) carries Q5_0 and Q8_0.
 */
const FALLBACK: Partial<Record<WritableTensorType, WritableTensorType>> = {
  IQ4_XS: "IQ4_NL", Q2_K: "Q4_0", Q3_K: "Q4_0", Q4_K: "Q5_0", Q5_K: "Q5_1", Q6_K: "Q8_0",
};

/** The type a tensor of `dims` gets when `type` is asked for: 1-D tensors (norms, biases) stay F32 as llama.cpp keeps them. */
export function targetTypeFor(dims: readonly number[], type: WritableTensorType): WritableTensorType {
  if (dims.length < 2) return "F32";
  const fits = (t: WritableTensorType) => dims[0]! % GGML_BLOCK[t][0] === 0;
  if (fits(type)) return type;
  const fallback = FALLBACK[type];
  return fallback && fits(fallback) ? fallback : "F16";
}

export interface ConvertResult {
  bytes: number;
  /** Tensors re-encoded (their type changed). */
  converted: number;
  /** Tensors already of their target type, copied byte for byte. */
  kept: number;
  /** Matrices written in a fallback type because their rows do not fit `type`'s block: type → count. */
  fallbacks: Partial<Record<WritableTensorType, number>>;
}

export async function convertGguf(inPath: string, outPath: string, type: WritableTensorType): Promise<ConvertResult> {
  const f = await openGguf(inPath);
  try {
    const metadata = new Map<string, GgufValue>(f.metadata);
    metadata.set("general.file_type", { type: "u32", value: FILE_TYPE[type] });
    const r: Omit<ConvertResult, "bytes"> = { converted: 0, kept: 0, fallbacks: {} };
    const tensors: GgufTensorInput[] = f.tensors.map((t) => {
      const target = targetTypeFor(t.dims, type);
      if (t.dims.length >= 2 && target !== type) r.fallbacks[target] = (r.fallbacks[target] ?? 0) + 1;
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
