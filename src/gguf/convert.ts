// Re-encode a GGUF's tensors to f32 / f16 / q8_0 (and the other types we quantize), streaming tensor by
// tensor; metadata kept, general.file_type updated. Tensors we cannot dequantize are copied unchanged.
import { PipelineError } from "../errors.ts";
import { openGguf } from "./reader.ts";
import { writeGguf, type GgufTensorInput } from "./writer.ts";
import { DEQUANT_TYPES, GGML_BLOCK, QUANT_TYPES, type GgufValue, type WritableTensorType } from "./types.ts";

const FILE_TYPE: Record<WritableTensorType, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K: 15, Q6_K: 18, BF16: 32 };

export function parseTensorType(s: string): WritableTensorType {
  const t = s.toUpperCase() as WritableTensorType;
  if (!(QUANT_TYPES as readonly string[]).includes(t)) throw new PipelineError("E_USAGE", `unknown --type "${s}"; use one of ${QUANT_TYPES.map((x) => x.toLowerCase()).join(", ")}`, { field: "type" });
  return t;
}

export interface ConvertResult { bytes: number; converted: number; kept: number; copied: number }

/**
 * Matrices (2+ dims) become `type` when their rows fit its block size, else F16 (llama.cpp's own fallback
 * for odd rows); 1-D tensors (norms, biases) become F32 as llama.cpp keeps them.
 */
export async function convertGguf(inPath: string, outPath: string, type: WritableTensorType): Promise<ConvertResult> {
  const f = await openGguf(inPath);
  try {
    const metadata = new Map<string, GgufValue>(f.metadata);
    metadata.set("general.file_type", { type: "u32", value: FILE_TYPE[type] });
    const r = { converted: 0, kept: 0, copied: 0 };
    const tensors: GgufTensorInput[] = f.tensors.map((t) => {
      const target: WritableTensorType = t.dims.length < 2 ? "F32" : t.dims[0]! % GGML_BLOCK[type][0] === 0 ? type : "F16";
      if (!DEQUANT_TYPES.includes(t.type) || t.type === target) {
        if (!DEQUANT_TYPES.includes(t.type)) r.copied++; else r.kept++;
        return { name: t.name, dims: t.dims, type: t.type, raw: () => f.readTensorRaw(t.name) };
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
