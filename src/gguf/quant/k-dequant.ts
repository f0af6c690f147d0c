// Dequantizers of the 256-value "K" super-blocks, giving ggml's dequantize_row_q{2..6}_K values bit for bit
// (every product of a half scale and small integers is exact in float; the one rounding is where C rounds).
// Layouts (ggml-common.h; 6-bit scale packing of Q4_K/Q5_K: see scaleMinK4):
//   Q2_K  84 B: scales[16] (low nibble scale, high nibble min), qs[64] 2-bit, d f16, dmin f16
//   Q3_K 110 B: hmask[32] (high bit), qs[64] 2-bit, scales[12] (16 × 6 bits), d f16
//   Q4_K 144 B: d f16, dmin f16, scales[12] (8 scales + 8 mins, 6 bits), qs[128] 4-bit
//   Q5_K 176 B: d f16, dmin f16, scales[12], qh[32] (5th bit), qs[128] 4-bit
//   Q6_K 210 B: ql[128] low 4 bits, qh[64] high 2 bits, scales[16] int8, d f16
// Values run in groups of 128: 2-bit quants take 32 bytes per 128 values, shifted by 0, 2, 4, 6 for values
// 0-31, 32-63, 64-95, 96-127; 4-bit quants take 32 bytes per 64 values, low nibble first.
import { halfAt } from "./half.ts";

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at q[off]. */
export function scaleMinK4(j: number, q: Uint8Array, off: number): [number, number] {
  if (j < 4) return [q[off + j]! & 63, q[off + j + 4]! & 63];
  return [(q[off + j + 4]! & 0xf) | ((q[off + j - 4]! >> 6) << 4), (q[off + j + 4]! >> 4) | ((q[off + j]! >> 6) << 4)];
}

/** Q3_K's 16 scales, 6 bits each: low nibbles in bytes 0-7 (j < 8) and their high halves (j ≥ 8), top 2 bits in bytes 8-11. */
export function scaleQ3K(j: number, s: Uint8Array, off: number): number {
  const lo = j < 8 ? s[off + j]! & 0xf : s[off + j - 8]! >> 4;
  return (lo | (((s[off + 8 + (j & 3)]! >> (2 * (j >> 2))) & 3) << 4)) - 32;
}

export function dequantQ2_K(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 84) {
    const d = halfAt(src, o + 80), min = halfAt(src, o + 82);
    let is = 0;
    for (let n = 0; n < 256; n += 128) {
      const q = o + 16 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let half = 0; half < 32; half += 16) {
          const sc = src[o + is++]!;
          const dl = d * (sc & 0xf), ml = min * (sc >> 4);
          for (let l = 0; l < 16; l++) out[y++] = dl * ((src[q + half + l]! >> shift) & 3) - ml;
        }
      }
    }
  }
}

export function dequantQ3_K(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 110) {
    const d = halfAt(src, o + 108);
    let is = 0, bit = 0;
    for (let n = 0; n < 256; n += 128) {
      const q = o + 32 + n / 4;
      for (let shift = 0; shift < 8; shift += 2, bit++) {
        for (let half = 0; half < 32; half += 16) {
          const dl = d * scaleQ3K(is++, src, o + 96);
          for (let l = 0; l < 16; l++) {
            const hi = (src[o + half + l]! >> bit) & 1; // hmask[e % 32] bit e / 32 set: no −4
            out[y++] = dl * (((src[q + half + l]! >> shift) & 3) - (hi ? 0 : 4));
          }
        }
      }
    }
  }
}

export function dequantQ4_K(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 144) {
    const d = halfAt(src, o), dmin = halfAt(src, o + 2);
    let q = o + 16;
    for (let is = 0; is < 8; is += 2, q += 32) {
      const [s1, m1] = scaleMinK4(is, src, o + 4);
      const [s2, m2] = scaleMinK4(is + 1, src, o + 4);
      const d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l]! & 0xf) - mm1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l]! >> 4) - mm2;
      y += 64;
    }
  }
}

export function dequantQ5_K(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 176) {
    const d = halfAt(src, o), dmin = halfAt(src, o + 2);
    const qh = o + 16;
    let ql = o + 48;
    for (let is = 0; is < 8; is += 2, ql += 32) {
      const [s1, m1] = scaleMinK4(is, src, o + 4);
      const [s2, m2] = scaleMinK4(is + 1, src, o + 4);
      const d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) out[y + l] = d1 * ((src[ql + l]! & 0xf) | (((src[qh + l]! >> is) & 1) << 4)) - mm1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * ((src[ql + l]! >> 4) | (((src[qh + l]! >> (is + 1)) & 1) << 4)) - mm2;
      y += 64;
    }
  }
}

export function dequantQ6_K(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 210) {
    const d = halfAt(src, o + 208);
    let ql = o, qh = o + 128, sc = o + 192;
    for (let n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
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
    }
  }
}
