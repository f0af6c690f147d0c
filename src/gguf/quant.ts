// Block (de)quantization between f32 and the ggml tensor types, bit-for-bit per ggml's reference code.
// Dequantize: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K. Quantize: F32 F16 BF16 Q8_0 Q4_0 (ggml's reference
// rounding) and Q4_K Q6_K (a simple max-abs scale search; loads everywhere, not ggml's optimiser).
import { loadKernelAddon } from "../kernels/native/addon.ts";
import { GGML_BLOCK, type GgmlTypeName } from "./types.ts";

/**
 * Large F16 conversions go through the optional native addon (F16C instructions, as ggml uses): the
 * JavaScript loop below managed ≈ 0.34× a file copy when writing f16 GGUFs. Small ones stay in JS.
 */
const NATIVE_HALF_MIN = 1 << 16;
function nativeHalf() {
  return process.env.DOCS2MODEL_NO_NATIVE ? undefined : loadKernelAddon();
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** All 65536 half floats as f32, so dequantizing a half is one table read. */
const HALF_TABLE: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfBitsToFloat(h);
  return t;
})();

function halfBitsToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export const halfToFloat = (h: number): number => HALF_TABLE[h & 0xffff]!;

/** f32 → IEEE half bits, round to nearest even (what F16C and ggml's fallback do). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  return halfFromBits(u32[0]!);
}

/** f32 bit pattern → half bits (round to nearest even). */
function halfFromBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

export function bf16ToFloat(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** ggml_compute_fp32_to_bf16: nearest even, NaN kept quiet. */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}

/** Dequantize `count` elements of `type` from `src` into `out` at `outOffset`. */
export function dequantize(type: GgmlTypeName, src: Uint8Array, count: number, out: Float32Array = new Float32Array(count), outOffset = 0): Float32Array {
  const [be, bb] = GGML_BLOCK[type];
  const blocks = count / be;
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
    case "Q8_0":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb;
        const d = HALF_TABLE[src[o]! | (src[o + 1]! << 8)]!;
        for (let j = 0; j < 32; j++) out[y++] = d * ((src[o + 2 + j]! << 24) >> 24);
      }
      return out;
    case "Q4_0":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb;
        const d = HALF_TABLE[src[o]! | (src[o + 1]! << 8)]!;
        for (let j = 0; j < 16; j++) {
          const q = src[o + 2 + j]!;
          out[y + j] = ((q & 0x0f) - 8) * d;
          out[y + j + 16] = ((q >> 4) - 8) * d;
        }
        y += 32;
      }
      return out;
    case "Q4_K":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb;
        const d = HALF_TABLE[src[o]! | (src[o + 1]! << 8)]!;
        const dmin = HALF_TABLE[src[o + 2]! | (src[o + 3]! << 8)]!;
        const sc = o + 4;
        let q = o + 16;
        for (let j = 0, is = 0; j < 256; j += 64, is += 2) {
          const [s1, m1] = scaleMinK4(is, src, sc);
          const [s2, m2] = scaleMinK4(is + 1, src, sc);
          const d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
          for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l]! & 0xf) - mm1;
          for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l]! >> 4) - mm2;
          y += 64;
          q += 32;
        }
      }
      return out;
    case "Q6_K":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb;
        const d = HALF_TABLE[src[o + 208]! | (src[o + 209]! << 8)]!;
        let ql = o, qh = o + 128, sc = o + 192;
        for (let n = 0; n < 256; n += 128) {
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const h = src[qh + l]!;
            const q1 = ((src[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
            const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
            const q3 = ((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
            const q4 = ((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
            out[y + l] = d * ((src[sc + is]! << 24) >> 24) * q1;
            out[y + l + 32] = d * ((src[sc + is + 2]! << 24) >> 24) * q2;
            out[y + l + 64] = d * ((src[sc + is + 4]! << 24) >> 24) * q3;
            out[y + l + 96] = d * ((src[sc + is + 6]! << 24) >> 24) * q4;
          }
          y += 128;
          ql += 64;
          qh += 32;
          sc += 8;
        }
      }
      return out;
    default:
      throw new Error(`no dequantizer for ${type}`);
  }
}

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at q[off]. */
function scaleMinK4(j: number, q: Uint8Array, off: number): [number, number] {
  if (j < 4) return [q[off + j]! & 63, q[off + j + 4]! & 63];
  return [(q[off + j + 4]! & 0xf) | ((q[off + j - 4]! >> 6) << 4), (q[off + j + 4]! >> 4) | ((q[off + j]! >> 6) << 4)];
}

/** C roundf: halves away from zero. */
const roundf = (x: number): number => (x < 0 ? -Math.round(-x) : Math.round(x));

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
    case "Q8_0":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb, xo = b * 32;
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]!));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        const dh = floatToHalf(d);
        dst[o] = dh & 0xff;
        dst[o + 1] = dh >> 8;
        for (let j = 0; j < 32; j++) dst[o + 2 + j] = roundf(x[xo + j]! * id) & 0xff;
      }
      return dst;
    case "Q4_0":
      for (let b = 0; b < blocks; b++) {
        const o = b * bb, xo = b * 32;
        let amax = 0, max = 0;
        for (let j = 0; j < 32; j++) {
          const v = x[xo + j]!;
          if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
        }
        const d = max / -8;
        const id = d ? 1 / d : 0;
        dv.setUint16(o, floatToHalf(d), true);
        for (let j = 0; j < 16; j++) {
          const q0 = Math.min(15, Math.trunc(x[xo + j]! * id + 8.5));
          const q1 = Math.min(15, Math.trunc(x[xo + 16 + j]! * id + 8.5));
          dst[o + 2 + j] = q0 | (q1 << 4);
        }
      }
      return dst;
    case "Q6_K":
      for (let b = 0; b < blocks; b++) quantizeQ6K(x, b * 256, dst, b * bb);
      return dst;
    case "Q4_K":
      for (let b = 0; b < blocks; b++) quantizeQ4K(x, b * 256, dst, b * bb);
      return dst;
    default:
      throw new Error(`no quantizer for ${type}`);
  }
}

function quantizeQ6K(x: Float32Array, xo: number, dst: Uint8Array, o: number): void {
  const scales = new Float32Array(16);
  let maxScale = 0, maxAbsScale = 0;
  for (let s = 0; s < 16; s++) {
    let amax = 0, max = 0;
    for (let j = 0; j < 16; j++) {
      const v = x[xo + s * 16 + j]!;
      if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
    }
    scales[s] = max / -32;
    if (Math.abs(scales[s]!) > maxAbsScale) { maxAbsScale = Math.abs(scales[s]!); maxScale = scales[s]!; }
  }
  const L = new Uint8Array(256);
  const sc = new Int8Array(dst.buffer, dst.byteOffset + o + 192, 16);
  if (maxAbsScale === 0) {
    dst.fill(0, o, o + 210);
    L.fill(32);
  } else {
    const iscale = -128 / maxScale;
    const dh = floatToHalf(1 / iscale);
    dst[o + 208] = dh & 0xff;
    dst[o + 209] = dh >> 8;
    const d = halfToFloat(dh);
    for (let s = 0; s < 16; s++) {
      sc[s] = Math.max(-128, Math.min(127, roundf(iscale * scales[s]!)));
      const dl = d * sc[s]!;
      for (let j = 0; j < 16; j++) {
        const q = dl ? Math.max(-32, Math.min(31, roundf(x[xo + s * 16 + j]! / dl))) : 0;
        L[s * 16 + j] = q + 32;
      }
    }
  }
  let ql = o, qh = o + 128;
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) {
      const q1 = L[j + l]!, q2 = L[j + l + 32]!, q3 = L[j + l + 64]!, q4 = L[j + l + 96]!;
      dst[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
      dst[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
      dst[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
    }
    ql += 64;
    qh += 32;
  }
}

function quantizeQ4K(x: Float32Array, xo: number, dst: Uint8Array, o: number): void {
  const scales = new Float32Array(8), mins = new Float32Array(8);
  let maxScale = 0, maxMin = 0;
  for (let s = 0; s < 8; s++) {
    let lo = 0, hi = 0; // min is clamped to ≤ 0, as in ggml, so the stored min is ≥ 0
    for (let j = 0; j < 32; j++) { const v = x[xo + s * 32 + j]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    scales[s] = (hi - lo) / 15;
    mins[s] = -lo;
    maxScale = Math.max(maxScale, scales[s]!);
    maxMin = Math.max(maxMin, mins[s]!);
  }
  const invScale = maxScale > 0 ? 63 / maxScale : 0;
  const invMin = maxMin > 0 ? 63 / maxMin : 0;
  const ls = new Uint8Array(8), lm = new Uint8Array(8);
  for (let s = 0; s < 8; s++) {
    ls[s] = Math.min(63, roundf(invScale * scales[s]!));
    lm[s] = Math.min(63, roundf(invMin * mins[s]!));
  }
  const sc = o + 4;
  dst.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      dst[sc + j] = ls[j]!;
      dst[sc + j + 4] = lm[j]!;
    } else {
      dst[sc + j + 4] = (ls[j]! & 0xf) | ((lm[j]! & 0xf) << 4);
      dst[sc + j - 4] |= (ls[j]! >> 4) << 6;
      dst[sc + j] |= (lm[j]! >> 4) << 6;
    }
  }
  const dh = floatToHalf(maxScale / 63), mh = floatToHalf(maxMin / 63);
  dst[o] = dh & 0xff; dst[o + 1] = dh >> 8; dst[o + 2] = mh & 0xff; dst[o + 3] = mh >> 8;
  const d = halfToFloat(dh), dmin = halfToFloat(mh);
  const L = new Uint8Array(256);
  for (let s = 0; s < 8; s++) {
    const [scv, mv] = scaleMinK4(s, dst, sc);
    const dl = d * scv, dm = dmin * mv;
    for (let j = 0; j < 32; j++) {
      L[s * 32 + j] = dl ? Math.max(0, Math.min(15, roundf((x[xo + s * 32 + j]! + dm) / dl))) : 0;
    }
  }
  let q = o + 16;
  for (let j = 0; j < 256; j += 64) {
    for (let l = 0; l < 32; l++) dst[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    q += 32;
  }
}
