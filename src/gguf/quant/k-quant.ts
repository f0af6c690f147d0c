// Quantizers of the 256-value K super-blocks, following ggml's quantize_row_q{2..6}_K_ref — what
// llama-quantize writes without an imatrix: each sub-block's scale (and min) found by the searches in
// k-search.ts, the scales themselves quantized against the block's largest, then every value re-fitted to
// the stored (rounded) scales. Layouts: see k-dequant.ts.
import { f, floatToHalf, halfToFloat, nearestInt, putHalf } from "./half.ts";
import { scaleMinK4, scaleQ3K } from "./k-dequant.ts";
import { GROUP_MAX_EPS, makeQ3Quants, makeQkx2Quants, makeQxQuants } from "./k-search.ts";

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Levels L (0..3 each) of 256 values into 64 bytes: byte l of each 32 holds values l, l+32, l+64, l+96 of its 128. */
function pack2(L: Uint8Array, dst: Uint8Array, o: number): void {
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) dst[o + j / 4 + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
  }
}

export function quantQ2_K(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const L = new Uint8Array(256), Laux = new Uint8Array(16), weights = new Float32Array(16);
  const scales = new Float32Array(16), mins = new Float32Array(16);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 84, xo += 256) {
    let maxScale = 0, maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) weights[l] = Math.abs(x[xo + 16 * j + l]!);
      const [s, m] = makeQkx2Quants(16, 3, x, xo + 16 * j, weights, L, 16 * j, Laux, -0.5, f(0.1), 15, true);
      scales[j] = s; mins[j] = m;
      if (s > maxScale) maxScale = s;
      if (m > maxMin) maxMin = m;
    }
    dst.fill(0, o, o + 16);
    if (maxScale > 0) {
      const iscale = f(15 / maxScale);
      for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(f(iscale * scales[j]!)) & 0xff;
      putHalf(dst, o + 80, floatToHalf(f(maxScale / 15)));
    } else {
      putHalf(dst, o + 80, 0);
    }
    if (maxMin > 0) {
      const iscale = f(15 / maxMin);
      for (let j = 0; j < 16; j++) dst[o + j] |= (nearestInt(f(iscale * mins[j]!)) << 4) & 0xff;
      putHalf(dst, o + 82, floatToHalf(f(maxMin / 15)));
    } else {
      putHalf(dst, o + 82, 0);
    }
    const dAll = halfToFloat(dst[o + 80]! | (dst[o + 81]! << 8)), mAll = halfToFloat(dst[o + 82]! | (dst[o + 83]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * (dst[o + j]! & 0xf));
      if (!d) continue;
      const dm = f(mAll * (dst[o + j]! >> 4));
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(f(x[xo + 16 * j + i]! + dm) / d)), 0, 3);
    }
    pack2(L, dst, o + 16);
  }
}

export function quantQ3_K(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const L = new Uint8Array(256), scales = new Float32Array(16);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 110, xo += 256) {
    let maxScale = 0, amax = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = makeQ3Quants(16, 4, x, xo + 16 * j, L, 16 * j);
      if (Math.abs(scales[j]!) > amax) { amax = Math.abs(scales[j]!); maxScale = scales[j]!; }
    }
    const sc = o + 96;
    dst.fill(0, sc, sc + 12);
    if (maxScale) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        const l = clamp(nearestInt(f(iscale * scales[j]!)), -32, 31) + 32;
        if (j < 8) dst[sc + j] = l & 0xf;
        else dst[sc + j - 8] |= (l & 0xf) << 4;
        dst[sc + 8 + (j & 3)] |= (l >> 4) << (2 * (j >> 2));
      }
      putHalf(dst, o + 108, floatToHalf(f(1 / iscale)));
    } else {
      putHalf(dst, o + 108, 0);
    }
    const dAll = halfToFloat(dst[o + 108]! | (dst[o + 109]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * scaleQ3K(j, dst, sc));
      if (!d) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(x[xo + 16 * j + i]! / d)), -4, 3) + 4;
    }
    // High bit of value j goes to hmask[j % 32], bit j / 32; the low two bits are packed like Q2_K's.
    dst.fill(0, o, o + 32);
    for (let j = 0; j < 256; j++) {
      if (L[j]! > 3) {
        dst[o + (j & 31)] |= 1 << (j >> 5);
        L[j] = L[j]! - 4;
      }
    }
    pack2(L, dst, o + 32);
  }
}

/** The shared part of Q4_K and Q5_K: 8 sub-blocks of 32, asymmetric levels 0..nmax, 6-bit scales and mins. */
function quantK4K5(x: Float32Array, xo: number, dst: Uint8Array, o: number, nmax: number, rmin: number, nstep: number, L: Uint8Array): void {
  const Laux = new Uint8Array(32), weights = new Float32Array(32), scales = new Float32Array(8), mins = new Float32Array(8);
  let maxScale = 0, maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) { const v = x[xo + 32 * j + l]!; sumX2 = f(sumX2 + f(v * v)); }
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xo + 32 * j + l]!));
    const [s, m] = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, L, 32 * j, Laux, rmin, f(0.1), nstep, false);
    scales[j] = s; mins[j] = m;
    if (s > maxScale) maxScale = s;
    if (m > maxMin) maxMin = m;
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const sc = o + 4;
  dst.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(f(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      dst[sc + j] = ls;
      dst[sc + j + 4] = lm;
    } else {
      dst[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      dst[sc + j - 4] |= (ls >> 4) << 6;
      dst[sc + j] |= (lm >> 4) << 6;
    }
  }
  putHalf(dst, o, floatToHalf(f(maxScale / 63)));
  putHalf(dst, o + 2, floatToHalf(f(maxMin / 63)));
  const dAll = halfToFloat(dst[o]! | (dst[o + 1]! << 8)), mAll = halfToFloat(dst[o + 2]! | (dst[o + 3]! << 8));
  for (let j = 0; j < 8; j++) {
    const [s, m] = scaleMinK4(j, dst, sc);
    const d = f(dAll * s);
    if (!d) continue;
    const dm = f(mAll * m);
    for (let i = 0; i < 32; i++) L[32 * j + i] = clamp(nearestInt(f(f(x[xo + 32 * j + i]! + dm) / d)), 0, nmax);
  }
}

export function quantQ4_K(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const L = new Uint8Array(256);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 144, xo += 256) {
    quantK4K5(x, xo, dst, o, 15, -1, 20, L);
    let q = o + 16;
    for (let j = 0; j < 256; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) dst[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
}

export function quantQ5_K(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const L = new Uint8Array(256);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 176, xo += 256) {
    quantK4K5(x, xo, dst, o, 31, -0.5, 15, L);
    const qh = o + 16;
    let ql = o + 48;
    dst.fill(0, qh, qh + 32);
    for (let n = 0, bit = 0; n < 256; n += 64, bit += 2, ql += 32) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j]!, l2 = L[n + j + 32]!;
        if (l1 > 15) { l1 -= 16; dst[qh + j] |= 1 << bit; }
        if (l2 > 15) { l2 -= 16; dst[qh + j] |= 2 << bit; }
        dst[ql + j] = l1 | (l2 << 4);
      }
    }
  }
}

export function quantQ6_K(x: Float32Array, blocks: number, dst: Uint8Array): void {
  const L = new Uint8Array(256), scales = new Float32Array(16);
  for (let b = 0, o = 0, xo = 0; b < blocks; b++, o += 210, xo += 256) {
    let maxScale = 0, maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const s = makeQxQuants(16, 32, x, xo + 16 * ib, L, 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbsScale) { maxAbsScale = Math.abs(s); maxScale = s; }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, o, o + 210);
      continue;
    }
    const iscale = f(-128 / maxScale);
    putHalf(dst, o + 208, floatToHalf(f(1 / iscale)));
    for (let ib = 0; ib < 16; ib++) dst[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]!))) & 0xff;
    const dAll = halfToFloat(dst[o + 208]! | (dst[o + 209]! << 8));
    for (let j = 0; j < 16; j++) {
      const d = f(dAll * ((dst[o + 192 + j]! << 24) >> 24));
      if (!d) continue;
      for (let i = 0; i < 16; i++) L[16 * j + i] = clamp(nearestInt(f(x[xo + 16 * j + i]! / d)), -32, 31) + 32;
    }
    let ql = o, qh = o + 128;
    for (let j = 0; j < 256; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const q1 = L[j + l]!, q2 = L[j + l + 32]!, q3 = L[j + l + 64]!, q4 = L[j + l + 96]!;
        dst[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}
