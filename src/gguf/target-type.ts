// The type a tensor gets when a type is asked for, with llama.cpp's fallbacks for rows that do not fit.
import { GGML_BLOCK, type WritableTensorType } from "./types.ts";

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
