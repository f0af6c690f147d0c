// IEEE half and bfloat16 ↔ f32, rounding as ggml does (nearest even), and the float32 helpers the block
// quantizers share so their arithmetic rounds where ggml's C (float, no FMA contraction) rounds.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** All 65536 half floats as f32, so dequantizing a half is one table read. */
export const HALF_TABLE: Float32Array = (() => {
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

/** The little-endian half at src[o], as f32. */
export const halfAt = (src: Uint8Array, o: number): number => HALF_TABLE[src[o]! | (src[o + 1]! << 8)]!;

/** Writes half bits little-endian at dst[o]. */
export function putHalf(dst: Uint8Array, o: number, h: number): void {
  dst[o] = h & 0xff;
  dst[o + 1] = h >> 8;
}

/** f32 → IEEE half bits, round to nearest even (what F16C and ggml's fallback do). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  return halfFromBits(u32[0]!);
}

/** f32 bit pattern → half bits (round to nearest even). */
export function halfFromBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
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

/**
 * One float32 operation: the double result of +, −, ×, ÷ or sqrt on float operands rounded to float equals
 * the float operation (double has more than 2·24+2 bits), so `f(a * b)` is C's `a * b` on floats.
 */
export const f = Math.fround;

/** ggml's nearest_int: round half to even (it adds 1.5·2²³ in float). */
export function nearestInt(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** C roundf: halves away from zero. */
export const roundf = (x: number): number => (x < 0 ? -Math.round(-x) : Math.round(x));
