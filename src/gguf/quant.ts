// Block (de)quantization between f32 and the ggml tensor types llama.cpp's quantizer writes for the common
// file types: F32 F16 BF16, Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 (quant/legacy.ts), Q2_K … Q6_K (quant/k-*.ts), IQ4_NL
// IQ4_XS (quant/iq4.ts). Dequantizing gives ggml's dequantize_row_* values bit for bit (test/gguf/
// dequant-llama.test.ts checks each type against llama.cpp); quantizing follows ggml's reference quantizers
// (quantize_row_*_ref, quantize_iq4_*), what llama-quantize writes without an imatrix.
import { loadKernelAddon } from "../kernels/native/addon.ts";
import { GGML_BLOCK, type GgmlTypeName } from "./types.ts";
import { bf16ToFloat, floatToBf16, halfFromBits, HALF_TABLE } from "./quant/half.ts";
import { dequantQ4_0, dequantQ4_1, dequantQ5_0, dequantQ5_1, dequantQ8_0, quantQ4_0, quantQ4_1, quantQ5_0, quantQ5_1, quantQ8_0 } from "./quant/legacy.ts";
import { dequantQ2_K, dequantQ3_K, dequantQ4_K, dequantQ5_K, dequantQ6_K } from "./quant/k-dequant.ts";
import { quantQ2_K, quantQ3_K, quantQ4_K, quantQ5_K, quantQ6_K } from "./quant/k-quant.ts";
import { dequantIQ4_NL, dequantIQ4_XS, quantIQ4_NL, quantIQ4_XS } from "./quant/iq4.ts";

export { halfToFloat, floatToHalf, bf16ToFloat, floatToBf16 } from "./quant/half.ts";

type Dequant = (src: Uint8Array, blocks: number, out: Float32Array, y: number) => void;
type Quant = (x: Float32Array, blocks: number, dst: Uint8Array) => void;

/** The block types, by their (de)quantizer; F32/F16/BF16 are handled inline below. */
const BLOCK_CODECS: Partial<Record<GgmlTypeName, { dequant: Dequant; quant: Quant }>> = {
  Q4_0: { dequant: dequantQ4_0, quant: quantQ4_0 },
  Q4_1: { dequant: dequantQ4_1, quant: quantQ4_1 },
  Q5_0: { dequant: dequantQ5_0, quant: quantQ5_0 },
  Q5_1: { dequant: dequantQ5_1, quant: quantQ5_1 },
  Q8_0: { dequant: dequantQ8_0, quant: quantQ8_0 },
  Q2_K: { dequant: dequantQ2_K, quant: quantQ2_K },
  Q3_K: { dequant: dequantQ3_K, quant: quantQ3_K },
  Q4_K: { dequant: dequantQ4_K, quant: quantQ4_K },
  Q5_K: { dequant: dequantQ5_K, quant: quantQ5_K },
  Q6_K: { dequant: dequantQ6_K, quant: quantQ6_K },
  IQ4_NL: { dequant: dequantIQ4_NL, quant: quantIQ4_NL },
  IQ4_XS: { dequant: dequantIQ4_XS, quant: quantIQ4_XS },
};

/**
 * Large F16 conversions go through the optional native addon (F16C instructions, as ggml uses): the
 * JavaScript loop below managed ≈ 0.34× a file copy when writing f16 GGUFs. Small ones stay in JS.
 */
const NATIVE_HALF_MIN = 1 << 16;
function nativeHalf() {
  return process.env.DOCS2MODEL_NO_NATIVE ? undefined : loadKernelAddon();
}

/** Dequantize `count` elements of `type` from `src` into `out` at `outOffset`. */
export function dequantize(type: GgmlTypeName, src: Uint8Array, count: number, out: Float32Array = new Float32Array(count), outOffset = 0): Float32Array {
  let y = outOffset;
  switch (type) {
    case "F32":
      // Little-endian hosts (all Node targets): a byte copy is the conversion.
      new Uint8Array(out.buffer, out.byteOffset + y * 4, count * 4).set(src.subarray(0, count * 4));
      return out;
    case "F16":
      if ((src.byteOffset & 1) === 0) {
        const h = new Uint16Array(src.buffer, src.byteOffset, count);
        for (let i = 0; i < count; i++) out[y++] = HALF_TABLE[h[i]!]!;
      } else {
        for (let i = 0; i < count; i++) out[y++] = HALF_TABLE[src[2 * i]! | (src[2 * i + 1]! << 8)]!;
      }
      return out;
    case "BF16":
      for (let i = 0; i < count; i++) out[y++] = bf16ToFloat(src[2 * i]! | (src[2 * i + 1]! << 8));
      return out;
  }
  const codec = BLOCK_CODECS[type];
  if (!codec) throw new Error(`no dequantizer for ${type}`);
  codec.dequant(src, count / GGML_BLOCK[type][0], out, y);
  return out;
}

/** Quantize f32 → `type` bytes. `x.length` must be a multiple of the block size. */
export function quantize(type: GgmlTypeName, x: Float32Array, out?: Uint8Array): Uint8Array {
  const [be, bb] = GGML_BLOCK[type];
  if (x.length % be !== 0) throw new Error(`${type} needs a multiple of ${be} values, got ${x.length}`);
  const blocks = x.length / be;
  const dst = out ?? new Uint8Array(blocks * bb);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  switch (type) {
    case "F32":
      dst.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      return dst;
    case "F16": {
      const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
      if ((dst.byteOffset & 1) === 0) {
        const h = new Uint16Array(dst.buffer, dst.byteOffset, x.length);
        const addon = x.length >= NATIVE_HALF_MIN ? nativeHalf() : undefined;
        if (addon?.f32ToF16) addon.f32ToF16(x, h);
        else for (let i = 0; i < x.length; i++) h[i] = halfFromBits(bits[i]!);
      } else {
        for (let i = 0; i < x.length; i++) dv.setUint16(i * 2, halfFromBits(bits[i]!), true);
      }
      return dst;
    }
    case "BF16":
      for (let i = 0; i < x.length; i++) dv.setUint16(i * 2, floatToBf16(x[i]!), true);
      return dst;
  }
  const codec = BLOCK_CODECS[type];
  if (!codec) throw new Error(`no quantizer for ${type}`);
  codec.quant(x, blocks, dst);
  return dst;
}
