// GGUF vocabulary shared by the reader, the writer and everyone who builds or reads models.
//
// CONTRACT (stable; training and export build on it):
//   - A tensor's `dims` are in GGUF order: dims[0] varies fastest. A PyTorch/tfjs weight of
//     shape [out, in] is stored with dims [in, out]; row r, column c sits at index r*in + c.
//     So the tfjs shape of a GGUF tensor is `dims.slice().reverse()`.
//   - Metadata values keep their GGUF type (`GgufValue`), so read → write round-trips
//     byte-exact types. Plain JS values given to the writer get an inferred type (see writer.ts).
//   - 64-bit integers are `number` when they are safe integers, `bigint` otherwise.
//   - Rope convention: llama.cpp's `llama` arch (and mistral, which is stored as llama) uses
//     rope type NORM: adjacent pairs (x[2i], x[2i+1]) of each head are rotated by
//     pos * theta^(-2i/headDim). `qwen2`, `gemma`, `phi3` use NEOX: pairs (x[i], x[i+hd/2]).
//     Files we create (tiny-model.ts) are `llama` → NORM. See ropeStyleFor().

/** GGUF metadata value types (gguf_type in ggml). */
export const GgufValueType = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7,
  STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Short names used in code: `{ type: "u32", value: 4 }`. */
export type GgufScalarTypeName = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "bool" | "string" | "u64" | "i64" | "f64";
export const SCALAR_TYPE_IDS: Record<GgufScalarTypeName, GgufValueTypeId> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, u64: 10, i64: 11, f64: 12,
};
export const SCALAR_TYPE_NAMES = Object.fromEntries(Object.entries(SCALAR_TYPE_IDS).map(([k, v]) => [v, k])) as Record<number, GgufScalarTypeName>;

export type GgufScalar = number | bigint | boolean | string;
/** A metadata value with its GGUF type. Arrays carry `itemType` (nested arrays: itemType "array"). */
export type GgufValue =
  | { type: GgufScalarTypeName; value: GgufScalar }
  | { type: "array"; itemType: GgufScalarTypeName; value: GgufScalar[] }
  | { type: "array"; itemType: "array"; value: GgufValue[] };

/** ggml tensor types (ggml_type ids), the ones we know the block layout of. */
export const GgmlType = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q5_0: 6, Q5_1: 7, Q8_0: 8, Q8_1: 9,
  Q2_K: 10, Q3_K: 11, Q4_K: 12, Q5_K: 13, Q6_K: 14, Q8_K: 15,
  IQ2_XXS: 16, IQ2_XS: 17, IQ3_XXS: 18, IQ1_S: 19, IQ4_NL: 20, IQ3_S: 21, IQ2_S: 22, IQ4_XS: 23,
  I8: 24, I16: 25, I32: 26, I64: 27, F64: 28, IQ1_M: 29, BF16: 30, TQ1_0: 34, TQ2_0: 35, MXFP4: 39,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;
export const GGML_TYPE_NAMES = Object.fromEntries(Object.entries(GgmlType).map(([k, v]) => [v, k])) as Record<number, GgmlTypeName>;

/** [elements per block, bytes per block] — from ggml's type_traits. */
export const GGML_BLOCK: Record<GgmlTypeName, [number, number]> = {
  F32: [1, 4], F16: [1, 2], BF16: [1, 2], F64: [1, 8], I8: [1, 1], I16: [1, 2], I32: [1, 4], I64: [1, 8],
  Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24], Q8_0: [32, 34], Q8_1: [32, 36],
  Q2_K: [256, 84], Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210], Q8_K: [256, 292],
  IQ2_XXS: [256, 66], IQ2_XS: [256, 74], IQ3_XXS: [256, 98], IQ1_S: [256, 50], IQ4_NL: [32, 18],
  IQ3_S: [256, 110], IQ2_S: [256, 82], IQ4_XS: [256, 136], IQ1_M: [256, 56], TQ1_0: [256, 54], TQ2_0: [256, 66],
  MXFP4: [32, 17],
};

/**
 * Types writeGguf can quantize from f32 and readTensorF32 can dequantize: every type llama.cpp's quantizer
 * writes for the common file types (F16 … Q8_0, the K-quant mixes, IQ4_NL/IQ4_XS) and their fallbacks.
 */
export const QUANT_TYPES = [
  "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS",
] as const;
export type WritableTensorType = (typeof QUANT_TYPES)[number];
/**
 * general.file_type (llama.h's llama_ftype) of a file whose matrices are mostly `type`. A K type maps to its
 * _M mix (Q3_K_M, Q4_K_M, Q5_K_M), the name Ollama and llama.cpp users know.
 */
export const FILE_TYPE: Record<WritableTensorType, number> = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K: 12, Q4_K: 15, Q5_K: 17, Q6_K: 18,
  IQ4_NL: 25, IQ4_XS: 30, BF16: 32,
};
/** Types readTensorF32 can dequantize. */
export const DEQUANT_TYPES: readonly GgmlTypeName[] = QUANT_TYPES;

export interface GgufTensorInfo {
  name: string;
  /** GGUF order: dims[0] is the fastest-varying (the "in" size of a weight). */
  dims: number[];
  type: GgmlTypeName;
  /** Absolute byte offset of the tensor data in the file. */
  offset: number;
  byteLength: number;
  /** Product of dims. */
  elements: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  /** Insertion-ordered, types kept. Use metaValue() for the plain value. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset where the tensor data section starts. */
  dataOffset: number;
  /** Plain value of a metadata key (arrays as JS arrays), or undefined. */
  meta<T = unknown>(key: string): T | undefined;
  tensor(name: string): GgufTensorInfo | undefined;
  /** Dequantized to f32, read from disk on demand. Throws E_GGUF for a type we cannot dequantize. */
  readTensorF32(name: string): Promise<Float32Array>;
  /** The tensor's bytes exactly as stored (for copying a tensor unchanged). */
  readTensorRaw(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type RopeStyle = "norm" | "neox";
/** Which rope pairing llama.cpp applies for an architecture (see the contract above). */
export function ropeStyleFor(arch: string): RopeStyle {
  return ["llama", "mistral", "mistral3", "llama4", "baichuan", "deci", "granite", "minicpm"].includes(arch) ? "norm" : "neox";
}
