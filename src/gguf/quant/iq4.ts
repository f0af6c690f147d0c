// IQ4_NL and IQ4_XS: 4-bit indices into ggml's fixed non-linear table (kvalues_iq4nl, ggml-common.h).
//   IQ4_NL  18 B / 32 values:  d f16, qs[16]                      value = d · T[nibble]
//   IQ4_XS 136 B / 256 values: d f16, scales_h u16, scales_l[4], qs[128]
//     sub-block ib (32 values) has a 6-bit scale ls: low 4 bits in nibble ib%2 of scales_l[ib/2], high 2 bits
//     at bits 2·ib of scales_h; value = d·(ls − 32) · T[nibble]
// Within each 32 values, low nibbles of 16 bytes are values 0-15, high nibbles 16-31.
// The quantizer follows ggml's quantize_iq4_nl / quantize_iq4_xs without an imatrix (what llama-quantize
// writes): per 32 values, the x²-weighted least-squares scale over 15 trial scales around −max/127.
import { f, floatToHalf, halfAt, nearestInt, putHalf } from "./half.ts";
import { GROUP_MAX_EPS } from "./k-search.ts";

/** kvalues_iq4nl: the 16 levels an IQ4 nibble selects. */
export const IQ4_VALUES = Int8Array.from([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]);

export function dequantIQ4_NL(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 18, y += 32) {
    const d = halfAt(src, o);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      out[y + j] = d * IQ4_VALUES[q & 0xf]!;
      out[y + j + 16] = d * IQ4_VALUES[q >> 4]!;
    }
  }
}

export function dequantIQ4_XS(src: Uint8Array, blocks: number, out: Float32Array, y: number): void {
  for (let b = 0, o = 0; b < blocks; b++, o += 136) {
    const d = halfAt(src, o);
    const sh = src[o + 2]! | (src[o + 3]! << 8);
    for (let ib = 0, qs = o + 8; ib < 8; ib++, qs += 16, y += 32) {
      const ls = ((src[o + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 0xf) | (((sh >> (2 * ib)) & 3) << 4);
      const dl = d * (ls - 32);
      for (let j = 0; j < 16; j++) {
        const q = src[qs + j]!;
        out[y + j] = dl * IQ4_VALUES[q & 0xf]!;
        out[y + j + 16] = dl * IQ4_VALUES[q >> 4]!;
      }
    }
  }
}

/** best_index_int8: index of the table value nearest v (the upper one only when strictly nearer). */
function bestIndex(v: number): number {
  const t = IQ4_VALUES;
  if (v <= t[0]!) return 0;
  if (v >= t[15]!) return 15;
  let lo = 0, hi = 15;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (v < t[mid]!) hi = mid; else lo = mid;
  }
  return f(v - t[hi - 1]!) < f(t[hi]! - v) ? hi - 1 : hi;
}

const NTRY = 7;

/** Scale of the 32 values x[xo..) (0 for an all-zero group), searched as ggml does with ntry = 7. */
function blockScale(x: Float32Array, xo: number, w: Float32Array): number {
  let amax = 0, max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    w[j] = f(v * v);
    if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; }
  }
  if (amax < GROUP_MAX_EPS) return 0;
  const t0 = IQ4_VALUES[0]!;
  let d = f(-max / t0);
  let id = f(1 / d);
  let sumqx = 0, sumq2 = 0;
  for (let j = 0; j < 32; j++) {
    const q = IQ4_VALUES[bestIndex(f(id * x[xo + j]!))]!;
    sumqx = f(sumqx + f(f(w[j]! * q) * x[xo + j]!));
    sumq2 = f(sumq2 + f(f(w[j]! * q) * q));
  }
  d = sumq2 > 0 ? f(sumqx / sumq2) : 0;
  let best = f(d * sumqx);
  for (let itry = -NTRY; itry <= NTRY; itry++) {
    id = f((itry + t0) / max);
    sumqx = sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const q = IQ4_VALUES[bestIndex(f(id * x[xo + j]!))]!;
      sumqx = f(sumqx + f(f(w[j]! * q) * x[xo + j]!));
      sumq2 = f(sumq2 + f(f(w[j]! * q) * q));
    }
    if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
      d = f(sumqx / sumq2);
      best = f(d * sumqx);
    }
  }
  return d;
}

/** 32 values as nibble indices against scale `d` (ggml divides by the unrounded scale) into 16 bytes at dst[o]. */
function packIndices(x: Float32Array, xo: number, d: number, dst: Uint8Array, o: number): void {
  const id = d ? f(1 / d) : 0;
  for (let j = 0; j < 16; j++) dst[o + j] = bestIndex(f(id * x[xo + j]!)) | (bestIndex(f(id * x[xo + 16 + j]!)) << 4);
}

export function quantIQ4_NL(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const w = new Float32Array(32);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 18, xo += 32) {
    const d = blockScale(x, xo, w);
    putHalf(dst, o, floatToHalf(d));
    packIndices(x, xo, d, dst, o + 2);
  }
}

export function quantIQ4_XS(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const w = new Float32Array(32), scales = new Float32Array(8);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 136, xo += 256) {
    let maxScale = 0, amaxScale = 0;
    for (let ib = 0; ib < 8; ib++) {
      scales[ib] = blockScale(x, xo + 32 * ib, w);
      if (Math.abs(scales[ib]!) > amaxScale) { amaxScale = Math.abs(scales[ib]!); maxScale = scales[ib]!; }
    }
    const d = f(-maxScale / 32);
    putHalf(dst, o, floatToHalf(d));
    const id = d ? f(1 / d) : 0;
    let sh = 0;
    dst.fill(0, o + 4, o + 8);
    for (let ib = 0; ib < 8; ib++) {
      const l = Math.max(-32, Math.min(31, nearestInt(f(id * scales[ib]!))));
      packIndices(x, xo + 32 * ib, f(d * l), dst, o + 8 + 16 * ib);
      const ls = l + 32;
      dst[o + 4 + (ib >> 1)] |= (ls & 0xf) << (4 * (ib & 1));
      sh |= (ls >> 4) << (2 * ib);
    }
    putHalf(dst, o + 2, sh);
  }
}
